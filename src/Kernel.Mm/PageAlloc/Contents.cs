// Page contents: real bytes, allocated lazily the first time a frame is written. A frame never
// written reads as zeros; a freed frame gives its buffer back (deviation: Linux leaves stale
// data in a freed page; here it reads as zeros until written again).
namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    private static readonly byte[] ZeroPage = new byte[MemoryLayout.PAGE_SIZE];

    /// <summary>Frames that currently hold written contents.</summary>
    public int PagesWithContents => _contents.Count - 1 - _freeContents.Count;

    /// <summary>Read view of a frame's bytes (shared zeros if never written).</summary>
    public ReadOnlySpan<byte> ReadPage(int pfn)
    {
        int h = MemMap[pfn].Contents;
        return h == 0 ? ZeroPage : _contents[h];
    }

    /// <summary>Write view of a frame's bytes, allocating them on first write.</summary>
    public Span<byte> WritePage(int pfn)
    {
        int h = ContentsForWrite(pfn, 0, MemoryLayout.PAGE_SIZE);
        return _contents[h];
    }

    /// <summary>
    /// Write view of `length` bytes of a frame from `offset`. Only the bytes a buffer was written
    /// through are cleared when it is reused, so a small copy into a fresh page (a pipe message)
    /// does not pay for clearing the whole page.
    /// </summary>
    public Span<byte> WritePage(int pfn, int offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, MemoryLayout.PAGE_SIZE, nameof(length));
        int h = ContentsForWrite(pfn, offset, offset + length);
        return _contents[h].AsSpan(offset, length);
    }

    /// <summary>The frame's buffer (taken, cleared where it was last written, on first write), its written extent widened to [lo, hi).</summary>
    private int ContentsForWrite(int pfn, int lo, int hi)
    {
        ref var page = ref MemMap[pfn];
        int h = page.Contents;
        if (h == 0)
        {
            if (_freeContents.TryPop(out h))
            {
                var (oldLo, oldHi) = _written[h];
                if (oldHi > oldLo)
                {
                    Array.Clear(_contents[h], oldLo, oldHi - oldLo);
                }
                _written[h] = (lo, hi);
            }
            else
            {
                h = _contents.Count;
                _contents.Add(new byte[MemoryLayout.PAGE_SIZE]);
                _written.Add((lo, hi));
            }
            page.Contents = h;
            return h;
        }
        var (l, u) = _written[h];
        if (lo < l || hi > u)
        {
            _written[h] = (Math.Min(l, lo), Math.Max(u, hi));
        }
        return h;
    }

    /// <summary>
    /// copy_user_highpage: `to` takes `from`'s bytes. A never-written source leaves `to` without
    /// contents (it reads as zeros), so copying the zero page or an untouched page costs nothing.
    /// </summary>
    public void CopyPage(int from, int to)
    {
        Machine.Charge(Options.Costs.CopyPageNs); // the emulated copy always costs; only host bytes are spared
        if (MemMap[from].Contents == 0)
        {
            ReleaseContents(ref MemMap[to]);
            return;
        }
        ReadPage(from).CopyTo(WritePage(to));
    }

    private void ReleaseContents(ref Page page)
    {
        if (page.Contents != 0)
        {
            _freeContents.Push(page.Contents);
            page.Contents = 0;
        }
    }
}

// Page contents: real bytes, allocated lazily the first time a frame is written. A frame never
// written reads as zeros; a freed frame gives its buffer back (deviation: Linux leaves stale
// data in a freed page; here it reads as zeros until written again).
namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    private static readonly byte[] ZeroPage = new byte[MemoryLayout.PAGE_SIZE];

    /// <summary>Frames that currently hold written contents.</summary>
    public int PagesWithContents => _bufferCount - 1 - _freeContents.Count;

    /// <summary>Read view of a frame's bytes (shared zeros if never written).</summary>
    public ReadOnlySpan<byte> ReadPage(int pfn)
    {
        int h = MemMap[pfn].Contents;
        return h == 0 ? ZeroPage : _buffers[h].Bytes;
    }

    /// <summary>Write view of a frame's bytes, allocating them on first write.</summary>
    public Span<byte> WritePage(int pfn)
    {
        int h = ContentsForWrite(pfn, 0, MemoryLayout.PAGE_SIZE);
        return _buffers[h].Bytes;
    }

    /// <summary>
    /// The bytes of a page-table frame, which AllocTable wrote whole: its written extent is
    /// already the full page, so the walk skips the extent bookkeeping of WritePage.
    /// </summary>
    internal Span<byte> TableBytes(int pfn)
    {
        int h = MemMap[pfn].Contents;
        return h != 0 ? _buffers[h].Bytes : WritePage(pfn);
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
        return _buffers[h].Bytes.AsSpan(offset, length);
    }

    /// <summary>The frame's buffer (taken, cleared where it was last written, on first write), its written extent widened to [lo, hi).</summary>
    private int ContentsForWrite(int pfn, int lo, int hi)
    {
        ref var page = ref MemMap[pfn];
        int h = page.Contents;
        if (h == 0)
        {
            h = TakeBuffer();
            page.Contents = h;
            _buffers[h].Lo = lo;
            _buffers[h].Hi = hi;
            return h;
        }
        ref var b = ref _buffers[h];
        if (lo < b.Lo)
        {
            b.Lo = lo;
        }
        if (hi > b.Hi)
        {
            b.Hi = hi;
        }
        return h;
    }

    /// <summary>A free buffer, cleared over what it held, or a new one.</summary>
    private int TakeBuffer()
    {
        if (_freeContents.TryPop(out int h))
        {
            ref var b = ref _buffers[h];
            if (b.Hi > b.Lo)
            {
                Array.Clear(b.Bytes, b.Lo, b.Hi - b.Lo);
            }
            return h;
        }
        if (_bufferCount == _buffers.Length)
        {
            Array.Resize(ref _buffers, _buffers.Length * 2);
        }
        h = _bufferCount++;
        _buffers[h].Bytes = new byte[MemoryLayout.PAGE_SIZE];
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

/// <summary>A frame's bytes and the range of them written since the buffer was last cleared.</summary>
internal struct ContentsBuffer
{
    public byte[] Bytes;
    public int Lo;
    public int Hi;
}

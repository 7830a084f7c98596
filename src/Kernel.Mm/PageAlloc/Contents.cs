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
        ref var page = ref MemMap[pfn];
        if (page.Contents == 0)
        {
            if (_freeContents.TryPop(out int h))
            {
                Array.Clear(_contents[h]);
            }
            else
            {
                h = _contents.Count;
                _contents.Add(new byte[MemoryLayout.PAGE_SIZE]);
            }
            page.Contents = h;
        }
        return _contents[page.Contents];
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

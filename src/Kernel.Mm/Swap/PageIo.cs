// Linux 2.6.20 mm/page_io.c and swapper_space's a_ops (mm/swap_state.c swap_aops): how a swap
// cache page reaches its area and comes back. swap_writepage first drops a page no PTE names any
// more (remove_exclusive_swap_page: writing it would be wasted), then marks it PG_writeback and
// sends one bio to the area (through ISwapBacking); end_swap_bio_write ends the writeback, which
// rotates a page reclaim wrote to the inactive tail. swap_readpage sends the read;
// end_swap_bio_read marks the page uptodate (or PG_error) and unlocks it, waking the faulting
// task. pswpout and pswpin in /proc/vmstat count the pages.
using Kernel.Core;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;

namespace Kernel.Mm.Swap;

public sealed partial class SwapAreas
{
    /// <summary>pswpout, pswpin: pages written to and read from swap.</summary>
    public long PswpOut { get; private set; }

    public long PswpIn { get; private set; }

    /// <summary>swap_writepage for the locked swap cache page (already cleaned for I/O): 0 or AOP_WRITEPAGE_ACTIVATE when no bio could be had.</summary>
    internal int SwapWritepage(int pfn)
    {
        if (RemoveExclusiveSwapPage(pfn))
        {
            return 0; // nothing names the entry: the page is just an anonymous page again
        }
        ref var page = ref _mem.PageAt(pfn);
        var entry = new SwpEntry(page.Private);
        var si = Info(entry.Type)!;
        _mem.SetPageWriteback(pfn);
        if (!si.Backing.SubmitWrite(pfn, entry.Offset))
        {
            _mem.EndPageWriteback(pfn); // no I/O started: end it at once
            page.Set(PageFlag.PG_dirty); // set_page_dirty: write it another time
            return AddressSpaceOperations.AOP_WRITEPAGE_ACTIVATE;
        }
        PswpOut++;
        if (_mem.Tracepoints.SwapOut.Enabled)
        {
            _mem.Tracepoints.SwapOut.Emit(new MmSwapIo(_mem.Machine.Now, _mem.Machine.ThisCpu.Id, pfn, entry.Type, entry.Offset, In: false));
        }
        return 0;
    }

    /// <summary>end_swap_bio_write: the page's write to swap ended (ok: the data is on the area).</summary>
    public void EndSwapWrite(int pfn, bool ok)
    {
        if (!ok)
        {
            ref var page = ref _mem.PageAt(pfn);
            page.Set(PageFlag.PG_error);
            page.Set(PageFlag.PG_dirty); // keep the data: it is not on the area
            page.Clear(PageFlag.PG_reclaim);
            Log.Add($"Write-error on swap-device (entry {new SwpEntry(page.Private)})");
        }
        _mem.EndPageWriteback(pfn);
    }

    /// <summary>swap_readpage for the new, locked swap cache page.</summary>
    private void SwapReadpage(int pfn)
    {
        var entry = new SwpEntry(_mem.PageAt(pfn).Private);
        if (!Info(entry.Type)!.Backing.SubmitRead(pfn, entry.Offset))
        {
            _mem.PageWait.UnlockPage(pfn); // not uptodate: the fault sees the failure (SIGBUS)
            return;
        }
        PswpIn++;
        if (_mem.Tracepoints.SwapIn.Enabled)
        {
            _mem.Tracepoints.SwapIn.Emit(new MmSwapIo(_mem.Machine.Now, _mem.Machine.ThisCpu.Id, pfn, entry.Type, entry.Offset, In: true));
        }
    }

    /// <summary>end_swap_bio_read: the read into the swap cache page ended; it is uptodate unless the read failed.</summary>
    public void EndSwapRead(int pfn, bool ok)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (ok)
        {
            page.Set(PageFlag.PG_uptodate);
        }
        else
        {
            page.Set(PageFlag.PG_error);
            page.Clear(PageFlag.PG_uptodate);
            Log.Add($"Read-error on swap-device (entry {new SwpEntry(page.Private)})");
        }
        _mem.PageWait.UnlockPage(pfn);
    }

    /// <summary>swap_unplug_io_fn: a task waits for a swap page; start every area's queued I/O.</summary>
    internal void UnplugAll()
    {
        foreach (var si in _info)
        {
            si?.Backing.Unplug();
        }
    }
}

/// <summary>swap_aops: the swap cache's page I/O.</summary>
public sealed class SwapAddressSpaceOperations : AddressSpaceOperations
{
    private readonly SwapAreas _swap;

    internal SwapAddressSpaceOperations(SwapAreas swap) => _swap = swap;

    public override string Name => "swap_aops";

    /// <summary>Swap pages are read through read_swap_cache_async, never through readpage.</summary>
    public override int ReadPage(MemorySubsystem mem, AddressSpace mapping, int pfn) =>
        throw new KernelBug("swap_aops has no readpage: swap pages are read by read_swap_cache_async");

    public override int WritePage(MemorySubsystem mem, AddressSpace mapping, int pfn) => _swap.SwapWritepage(pfn);

    public override void SyncPage(MemorySubsystem mem, AddressSpace mapping, int pfn) => _swap.UnplugAll();

    /// <summary>__set_page_dirty_nobuffers on swapper_space: no dirty accounting (BDI_CAP_NO_ACCT_DIRTY).</summary>
    public override bool CapAccountDirty => false;

    public override int PrepareWrite(MemorySubsystem mem, KFile file, int pfn, int fromByte, int toByte) =>
        throw new KernelBug("swapper_space is not a file: nothing writes to it");
}

/// <summary>swapper_space's host: the swap cache is not a file, so nothing opens it.</summary>
internal sealed class SwapperInode : Inode
{
    internal SwapperInode()
        : base(0, "swapper_space", NoFileOperations.Instance)
    {
    }

    private sealed class NoFileOperations : FileOperations
    {
        public static NoFileOperations Instance { get; } = new();

        public override long Read(KFile file, MmStruct mm, long buf, long count) => Errno.EINVAL.Ret();

        public override long Write(KFile file, MmStruct mm, long buf, long count) => Errno.EINVAL.Ret();

        public override bool HasMmap => false;

        public override int Mmap(KFile file, Vma vma) => (int)Errno.ENODEV.Ret();
    }
}

// Linux 2.6.20 arch/i386/mm/fault.c do_page_fault and mm/memory.c handle_mm_fault for anonymous
// memory: a read of an untouched page maps the shared zero page read-only; a write maps a fresh
// zeroed page; a write to a read-only private page copies it (do_wp_page), or reuses it when this
// is its only mapping. The "hardware" (Translate) sets ACCESSED and DIRTY on every access.
using System.Runtime.CompilerServices;
using Kernel.Core;
namespace Kernel.Mm.Memory;

/// <summary>How a fault ended (VM_FAULT_* and the SIGSEGV codes).</summary>
public enum FaultResult
{
    /// <summary>Resolved without I/O (a minor fault).</summary>
    Minor,
    /// <summary>SEGV_MAPERR: no mapping at the address.</summary>
    SegvMaperr,
    /// <summary>SEGV_ACCERR: the mapping forbids the access.</summary>
    SegvAccerr,
    /// <summary>VM_FAULT_OOM: no memory for a page or a table.</summary>
    Oom,
    /// <summary>VM_FAULT_SIGBUS: a file page beyond the end of the file.</summary>
    Sigbus,
    /// <summary>
    /// The fault must sleep (direct reclaim, a page under read I/O, a contended mmap_sem) and
    /// has recorded why in the open synchronous section; it is run again after the sleep
    /// (VM_FAULT_RETRY in later kernels). Never the final result of a fault.
    /// </summary>
    Retry,
}

public static class FaultResultNames
{
    private static readonly string[] Names = Enum.GetValues<FaultResult>().OrderBy(v => (int)v).Select(v => v.ToString()).ToArray();

    /// <summary>The result's name without allocating (for tracepoints on the fault path).</summary>
    public static string Name(this FaultResult r) => Names[(int)r];
}

public sealed partial class MmStruct
{
    /// <summary>_PAGE_PROTNONE: a mapped page made inaccessible by PROT_NONE (present bit clear).</summary>
    public const ulong _PAGE_PROTNONE = 0x100;

    /// <summary>RLIMIT_STACK default: 8 MiB.</summary>
    public const long RLIMIT_STACK = 8L << 20;

    internal static bool PteMapped(ulong pte) => (pte & (Paging._PAGE_PRESENT | _PAGE_PROTNONE)) != 0;

    /// <summary>
    /// The MMU: translate an access. Returns the pfn and sets ACCESSED (and DIRTY for a write)
    /// when the PTE allows it; -1 means a page fault.
    /// </summary>
    public int Translate(long addr, bool write)
    {
        if ((ulong)addr >= (ulong)Paging.TaskSize)
        {
            return -1;
        }
        ref ulong pte = ref FindPte(addr);
        if (Unsafe.IsNullRef(ref pte))
        {
            return -1;
        }
        if ((pte & Paging._PAGE_PRESENT) == 0 || (write && (pte & Paging._PAGE_RW) == 0))
        {
            return -1;
        }
        pte |= write ? Paging._PAGE_ACCESSED | Paging._PAGE_DIRTY : Paging._PAGE_ACCESSED;
        return Paging.PfnOf(pte);
    }

    /// <summary>do_page_fault for a user-mode access: find the VMA, check it, fix the PTE.</summary>
    public FaultResult HandleFault(long addr, bool write)
    {
        _mem.PgFault++;
        if ((ulong)addr >= (ulong)Paging.TaskSize)
        {
            return FaultResult.SegvMaperr;
        }
        var vma = Vmas.FindVma(addr);
        if (vma is null)
        {
            return FaultResult.SegvMaperr;
        }
        if (vma.VmStart > addr)
        {
            if (!vma.Has(VmFlags.VM_GROWSDOWN) || !ExpandStack(vma, addr))
            {
                return FaultResult.SegvMaperr;
            }
        }
        // i386 fault.c: a read of a not-present page is allowed for any of VM_READ, VM_EXEC and
        // VM_WRITE (x86 cannot make a page writable but not readable).
        if (write ? !vma.Has(VmFlags.VM_WRITE) : !vma.Has(VmFlags.VM_READ | VmFlags.VM_EXEC | VmFlags.VM_WRITE))
        {
            return FaultResult.SegvAccerr;
        }
        var r = HandleMmFault(vma, addr, write);
        if (r == FaultResult.Minor)
        {
            UpdateHiwater();
        }
        else if (r == FaultResult.Oom && _mem.HasPendingWait)
        {
            r = FaultResult.Retry; // an allocation wants direct reclaim: sleep, then fault again
        }
        return r;
    }

    /// <summary>handle_mm_fault + do_anonymous_page / do_wp_page.</summary>
    private FaultResult HandleMmFault(Vma vma, long addr, bool write)
    {
        ref ulong pte = ref PteAlloc(addr);
        if (Unsafe.IsNullRef(ref pte))
        {
            return FaultResult.Oom;
        }
        if (!PteMapped(pte))
        {
            if (pte != 0)
            {
                return DoSwapPage(vma, addr, write, ref pte);
            }
            return vma.VmOps is null ? DoAnonymousPage(vma, addr, write, ref pte) : DoNoPage(vma, addr, write, ref pte);
        }
        if ((pte & Paging._PAGE_PRESENT) == 0)
        {
            // PROT_NONE page whose VMA allows the access again (mprotect restored it lazily).
            pte = (pte & ~_PAGE_PROTNONE) | Paging._PAGE_PRESENT;
        }
        if (write && (pte & Paging._PAGE_RW) == 0)
        {
            return DoWpPage(vma, addr, ref pte);
        }
        pte |= Paging._PAGE_ACCESSED | (write ? Paging._PAGE_DIRTY : 0);
        return FaultResult.Minor;
    }

    private FaultResult DoAnonymousPage(Vma vma, long addr, bool write, ref ulong pte)
    {
        if (!write)
        {
            // The shared ZERO_PAGE, read-only: a write will copy it.
            int zero = _mem.ZeroPagePfn;
            ref var zp = ref _mem.PageAt(zero);
            zp.Count++;
            if (++zp.MapCount == 0)
            {
                _mem.NrFileMapped++; // page_add_file_rmap
            }
            FileRss++;
            pte = Paging.MkPte(zero, Paging._PAGE_PRESENT | Paging._PAGE_USER | Paging._PAGE_ACCESSED);
            return FaultResult.Minor;
        }
        int pfn = NewAnonPage(vma, addr);
        if (pfn < 0)
        {
            return FaultResult.Oom;
        }
        pte = AnonPte(pfn);
        return FaultResult.Minor;
    }

    private static ulong AnonPte(int pfn) =>
        Paging.MkPte(pfn, Paging._PAGE_PRESENT | Paging._PAGE_RW | Paging._PAGE_USER | Paging._PAGE_ACCESSED | Paging._PAGE_DIRTY);

    /// <summary>
    /// do_no_page: ask the mapping's vm_ops->nopage for the page (it returns it referenced) and
    /// map it. A write to a private mapping installs a private anonymous copy straight away and
    /// drops the file page. A shared writable mapping whose file needs no dirty accounting
    /// (tmpfs) is mapped writable at once, as vm_page_prot = PAGE_SHARED gives.
    /// </summary>
    private FaultResult DoNoPage(Vma vma, long addr, bool write, ref ulong pte)
    {
        int pfn = vma.VmOps!.Nopage(vma, addr & ~(MemoryLayout.PAGE_SIZE - 1L), out bool major);
        if (major)
        {
            _mem.PgMajFault++; // counted once: the retry after the read finds the page cached
        }
        if (pfn == Filemap.VmOperations.NOPAGE_SIGBUS)
        {
            return FaultResult.Sigbus;
        }
        if (pfn == Filemap.VmOperations.NOPAGE_RETRY)
        {
            return FaultResult.Retry;
        }
        if (pfn < 0)
        {
            return FaultResult.Oom;
        }
        if (write && !vma.Has(VmFlags.VM_SHARED))
        {
            int copy = NewAnonPage(vma, addr);
            if (copy < 0)
            {
                _mem.PutPage(pfn);
                return FaultResult.Oom;
            }
            _mem.CopyPage(pfn, copy);
            _mem.PutPage(pfn); // page_cache_release of nopage's reference
            pte = AnonPte(copy);
            return FaultResult.Minor;
        }
        return MapFilePage(vma, addr, pfn, write, ref pte);
    }

    /// <summary>The file half of do_no_page and install_page: map `pfn` (whose reference the PTE takes over).</summary>
    private FaultResult MapFilePage(Vma vma, long addr, int pfn, bool write, ref ulong pte)
    {
        if (!_mem.Rmap.AddPte(pfn, this, addr))
        {
            _mem.PutPage(pfn);
            return FaultResult.Oom;
        }
        ref var page = ref _mem.PageAt(pfn);
        if (++page.MapCount == 0)
        {
            _mem.NrFileMapped++; // page_add_file_rmap
        }
        FileRss++;
        ulong prot = Paging._PAGE_PRESENT | Paging._PAGE_USER | Paging._PAGE_ACCESSED;
        var mapping = vma.File!.Inode.Mapping;
        if (vma.Has(VmFlags.VM_SHARED) && vma.Has(VmFlags.VM_WRITE) && !mapping.AOps.CapAccountDirty)
        {
            prot |= Paging._PAGE_RW;
        }
        if (write)
        {
            prot |= Paging._PAGE_RW | Paging._PAGE_DIRTY;
            SetPageDirtyBalance(mapping, pfn);
        }
        pte = Paging.MkPte(pfn, prot);
        return FaultResult.Minor;
    }

    /// <summary>
    /// A user-mode write fault newly dirtied a page of this mapping past the CPU's ratelimit: the
    /// fault's slow path runs balance_dirty_pages before the access completes. Null otherwise.
    /// </summary>
    internal Filemap.AddressSpace? DirtyBalancePending { get; set; }

    /// <summary>
    /// set_page_dirty_balance (do_no_page and do_wp_page for a shared writable mapping): dirty the
    /// page and, if that made it dirty, count it against the writer's ratelimit.
    /// </summary>
    private void SetPageDirtyBalance(Filemap.AddressSpace mapping, int pfn)
    {
        if (mapping.AOps.SetPageDirty(_mem, mapping, pfn) && mapping.AOps.CapAccountDirty && _mem.Writeback.RatelimitExceeded(1))
        {
            DirtyBalancePending = mapping;
        }
    }

    /// <summary>
    /// install_page (mm/fremap.c), for vm_ops->populate: map the referenced file page `pfn` at
    /// `addr` unless a page is already mapped there. 0 or -ENOMEM.
    /// </summary>
    public int InstallPage(Vma vma, long addr, int pfn)
    {
        ArgumentNullException.ThrowIfNull(vma);
        ref ulong pte = ref PteAlloc(addr);
        if (Unsafe.IsNullRef(ref pte))
        {
            _mem.PutPage(pfn);
            return (int)Errno.ENOMEM.Ret();
        }
        if (PteMapped(pte))
        {
            _mem.PutPage(pfn);
            return 0;
        }
        var r = MapFilePage(vma, addr, pfn, write: false, ref pte);
        UpdateHiwater();
        return r == FaultResult.Minor ? 0 : (int)Errno.ENOMEM.Ret();
    }

    /// <summary>alloc_zeroed_user_highpage + page_add_new_anon_rmap.</summary>
    private int NewAnonPage(Vma vma, long addr)
    {
        if (!_mem.Rmap.AnonVmaPrepare(vma))
        {
            return -1;
        }
        int pfn = _mem.AllocPages(Gfp.GFP_HIGHUSER | Gfp.__GFP_ZERO, 0);
        if (pfn < 0)
        {
            return -1;
        }
        ref var page = ref _mem.PageAt(pfn);
        page.MapCount = 0;
        page.Mapping = _mem.Rmap.AnonMappingFor(vma);
        page.Index = vma.LinearPageIndex(addr);
        if (!_mem.Rmap.AddPte(pfn, this, addr))
        {
            page.MapCount = -1;
            page.Mapping = 0;
            _mem.FreePages(pfn, 0);
            return -1;
        }
        _mem.NrAnonPages++; // page_add_new_anon_rmap
        _mem.LruCacheAddActive(pfn);
        AnonRss++;
        return pfn;
    }

    /// <summary>do_wp_page: reuse an anonymous page mapped once, else copy (break COW).</summary>
    private FaultResult DoWpPage(Vma vma, long addr, ref ulong pte)
    {
        int old = Paging.PfnOf(pte);
        ref var oldPage = ref _mem.PageAt(old);
        if (vma.Has(VmFlags.VM_SHARED))
        {
            // A shared mapping writes to the file's own page: no copy, the page becomes dirty.
            if (_mem.PageMapping(old) is { } mapping)
            {
                SetPageDirtyBalance(mapping, old);
            }
            else
            {
                _mem.SetPageDirty(old);
            }
            pte |= Paging._PAGE_RW | Paging._PAGE_DIRTY | Paging._PAGE_ACCESSED;
            return FaultResult.Minor;
        }
        if (old != _mem.ZeroPagePfn && oldPage.IsAnon && CanReuseAnonPage(old))
        {
            pte |= Paging._PAGE_RW | Paging._PAGE_DIRTY | Paging._PAGE_ACCESSED;
            return FaultResult.Minor;
        }
        int pfn = NewAnonPage(vma, addr);
        if (pfn < 0)
        {
            return FaultResult.Oom;
        }
        _mem.CopyPage(old, pfn);
        pte = AnonPte(pfn);
        DropMapping(old, addr);
        return FaultResult.Minor;
    }

    /// <summary>
    /// do_wp_page's reuse test: an anonymous page mapped once, and, if it is in the swap cache, with
    /// no swap PTE naming it elsewhere (can_share_swap_page under the page lock; a locked page is copied).
    /// </summary>
    private bool CanReuseAnonPage(int pfn)
    {
        ref var page = ref _mem.PageAt(pfn);
        if (!page.Test(PageFlag.PG_swapcache))
        {
            return page.PageMapcount == 1;
        }
        if (!_mem.PageWait.TryLockPage(pfn))
        {
            return false;
        }
        bool reuse = _mem.Swap.CanShareSwapPage(pfn);
        _mem.PageWait.UnlockPage(pfn);
        return reuse;
    }

    /// <summary>page_remove_rmap + put_page for one PTE that stops mapping `pfn`, with the RSS counters.</summary>
    internal void DropMapping(int pfn, long addr)
    {
        _mem.Rmap.RemovePte(pfn, this, addr);
        ref var page = ref _mem.PageAt(pfn);
        if (page.MapCount < 0)
        {
            throw new Kernel.Core.KernelBug($"Eeek! page_mapcount(page) went negative! (pfn {pfn})");
        }
        page.MapCount--;
        if (page.IsAnon)
        {
            AnonRss--;
        }
        else
        {
            FileRss--;
        }
        if (page.MapCount < 0)
        {
            // page_remove_rmap: the last PTE went.
            if (page.IsAnon)
            {
                _mem.NrAnonPages--;
                page.Mapping = 0;
            }
            else
            {
                _mem.NrFileMapped--;
            }
        }
        if (pfn == _mem.ZeroPagePfn)
        {
            page.Count--;
            return;
        }
        _mem.PutPage(pfn);
    }

    /// <summary>expand_stack: grow a VM_GROWSDOWN area down to addr, within RLIMIT_STACK.</summary>
    private bool ExpandStack(Vma vma, long addr)
    {
        long newStart = addr & ~(MemoryLayout.PAGE_SIZE - 1L);
        if (vma.VmEnd - newStart > RLIMIT_STACK)
        {
            return false;
        }
        var prev = Vmas.FindPrev(vma.VmStart);
        if (prev is not null && prev.VmEnd > newStart)
        {
            return false;
        }
        long grow = (vma.VmStart - newStart) >> MemoryLayout.PAGE_SHIFT;
        if (vma.Has(VmFlags.VM_ACCOUNT) && VmEnoughMemory(grow) < 0)
        {
            return false; // acct_stack_growth: -ENOMEM, the access gets SIGSEGV
        }
        Vmas.Remove(vma);
        vma.VmStart = newStart;
        vma.VmPgoff -= grow;
        Vmas.Insert(vma);
        TotalVm += grow;
        return true;
    }
}

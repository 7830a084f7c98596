// Linux 2.6.20 kernel/fork.c dup_mmap and mm/memory.c copy_page_range: the child gets a copy of
// every VMA and of every mapped PTE; private writable pages become read-only in both parent
// and child (copy-on-write), and each mapped page gains a reference and a mapcount.
using System.Runtime.CompilerServices;
namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{

    /// <summary>High-water marks for /proc/PID/status (VmPeak, VmHWM).</summary>
    public long HiwaterVm => Math.Max(_hiwaterVm, TotalVm);

    public long HiwaterRss => Math.Max(_hiwaterRss, AnonRss + FileRss);

    private long _hiwaterVm;
    private long _hiwaterRss;

    internal void UpdateHiwater()
    {
        _hiwaterVm = Math.Max(_hiwaterVm, TotalVm);
        _hiwaterRss = Math.Max(_hiwaterRss, AnonRss + FileRss);
    }

    /// <summary>atomic_inc(&amp;mm->mm_users) for CLONE_VM.</summary>
    public void Get() => Users++;

    /// <summary>mmput: the last user tears the address space down.</summary>
    public void Put()
    {
        if (--Users == 0)
        {
            ExitMmap();
        }
    }

    /// <summary>
    /// dup_mm with dup_mmap's locking, for fork: down_write(oldmm->mmap_sem) around the copy. A copy
    /// that stopped for direct reclaim is undone, and made again after the sleep (holding the
    /// semaphore, as 2.6.20 sleeps inside dup_mmap). Null when memory runs out.
    /// </summary>
    public async ValueTask<MmStruct?> DupAsync()
    {
        var m = _mem.Machine;
        await MmapSem.DownWrite(m);
        try
        {
            bool mayDefer = true;
            while (true)
            {
                _mem.BeginSync(mayDefer);
                var child = Dup();
                var w = _mem.EndSync();
                if (child is not null || w.IsNone)
                {
                    return child;
                }
                mayDefer = await _mem.SleepFor(w);
            }
        }
        finally
        {
            MmapSem.UpWrite(m);
        }
    }

    /// <summary>dup_mm: a copy-on-write duplicate for fork; null when memory runs out (fork fails -ENOMEM).</summary>
    public MmStruct? Dup()
    {
        var child = Create(_mem);
        if (child is null)
        {
            return null;
        }
        child.StartCode = StartCode;
        child.EndCode = EndCode;
        child.StartData = StartData;
        child.EndData = EndData;
        child.StartBrk = StartBrk;
        child.Brk = Brk;
        child.StartStack = StartStack;
        child.MmapBase = MmapBase;
        child.FreeAreaCache = MmapBase; // dup_mmap: the child searches afresh
        child.CachedHoleSize = ulong.MaxValue;
        foreach (var v in Vmas.InOrder())
        {
            if (v.Has(VmFlags.VM_DONTCOPY))
            {
                continue;
            }
            // dup_mmap: each accounted area is charged again for the child.
            if (v.Has(VmFlags.VM_ACCOUNT) && child.VmEnoughMemory(v.Pages) < 0)
            {
                child.ExitMmap();
                return null;
            }
            var copy = child.NewVma(v.VmStart, v.VmEnd, v.VmFlagsValue & ~VmFlags.VM_LOCKED, v.VmPgoff, v.Kind, v.File, v.AnonVma, v.VmOps);
            if (copy is null)
            {
                if (v.Has(VmFlags.VM_ACCOUNT))
                {
                    _mem.Overcommit.Unacct(v.Pages);
                }
                child.ExitMmap();
                return null;
            }
            child.Vmas.Insert(copy);
            child.TotalVm += v.Pages;
            if (!CopyPageRange(child, v))
            {
                child.ExitMmap();
                return null;
            }
        }
        child.UpdateHiwater();
        return child;
    }

    /// <summary>
    /// copy_page_range. 2.6.20 (objrmap) skips an area without an anon_vma: its pages are all file
    /// or zero pages that a fault will map again, which keeps fork light for big shared or
    /// read-only mappings. The 2.6.0 pte_chain kernel and 2.4 copied every PTE.
    /// </summary>
    private bool CopyPageRange(MmStruct child, Vma v)
    {
        if (_mem.Rmap.Mode == Rmap.RmapMode.ObjRmap && v.AnonVma is null)
        {
            return true;
        }
        bool cow = !v.Has(VmFlags.VM_SHARED) && v.Has(VmFlags.VM_MAYWRITE);
        bool shared = v.Has(VmFlags.VM_SHARED);
        long copied = 0;
        for (long a = v.VmStart; a < v.VmEnd; a += MemoryLayout.PAGE_SIZE)
        {
            ref ulong pte = ref FindPte(a);
            if (Unsafe.IsNullRef(ref pte))
            {
                a = (a | (Paging.Span(Paging.Levels - 2) - 1)) + 1 - MemoryLayout.PAGE_SIZE;
                continue;
            }
            if (!PteMapped(pte))
            {
                if (pte != 0)
                {
                    // copy_one_pte: a swap entry is shared; each PTE naming it is one more use of it.
                    ref ulong childSwapPte = ref child.PteAlloc(a);
                    if (Unsafe.IsNullRef(ref childSwapPte))
                    {
                        return false;
                    }
                    _mem.Swap.SwapDuplicate(Swap.SwpEntry.FromPte(pte));
                    childSwapPte = pte;
                }
                continue;
            }
            if (cow && (pte & Paging._PAGE_RW) != 0)
            {
                pte &= ~Paging._PAGE_RW; // both sides now fault on write (do_wp_page)
            }
            ref ulong childPte = ref child.PteAlloc(a);
            if (Unsafe.IsNullRef(ref childPte))
            {
                return false;
            }
            int pfn = Paging.PfnOf(pte);
            if (!_mem.Rmap.AddPte(pfn, child, a))
            {
                return false;
            }
            // copy_one_pte: the child's copy starts old; a shared page's PTE also starts clean
            // (the parent's PTE keeps the dirty bit that writeback will find).
            childPte = pte & ~(Paging._PAGE_ACCESSED | (shared ? Paging._PAGE_DIRTY : 0));
            copied++;
            ref var page = ref _mem.PageAt(pfn);
            page.Count++;
            page.MapCount++;
            if (page.IsAnon)
            {
                child.AnonRss++;
            }
            else
            {
                child.FileRss++;
            }
        }
        _mem.Machine.Charge(copied * _mem.Options.Costs.PteCopyNs);
        return true;
    }
}

// Linux 2.6.20 mm/mmap.c __vm_enough_memory and vm_committed_space: every private writable
// mapping, brk, stack growth, fork's copy of such areas and shared anonymous memory is charged
// when it is created, and refused with ENOMEM when the charge does not fit the overcommit
// policy (/proc/sys/vm/overcommit_memory): 0 OVERCOMMIT_GUESS, the default (free memory plus
// page cache, less reserves and 3 % for non-root); 1 OVERCOMMIT_ALWAYS; 2 OVERCOMMIT_NEVER
// (Committed_AS stays under CommitLimit = RAM * overcommit_ratio / 100 + swap). Free swap counts
// as free memory for the guess; there is no reclaimable slab yet, so that term is 0.
using Kernel.Core;

namespace Kernel.Mm.Memory;

public sealed class Overcommit
{
    public const int OVERCOMMIT_GUESS = 0;
    public const int OVERCOMMIT_ALWAYS = 1;
    public const int OVERCOMMIT_NEVER = 2;

    private readonly MemorySubsystem _mem;

    internal Overcommit(MemorySubsystem mem)
    {
        _mem = mem;
        CalculateTotalReservePages();
    }

    /// <summary>sysctl_overcommit_memory.</summary>
    public int Mode { get; set; } = OVERCOMMIT_GUESS;

    /// <summary>sysctl_overcommit_ratio (percent of RAM under OVERCOMMIT_NEVER).</summary>
    public int Ratio { get; set; } = 50;

    /// <summary>vm_committed_space in pages (Committed_AS).</summary>
    public long CommittedPages { get; private set; }

    /// <summary>CommitLimit in pages: totalram_pages * ratio / 100 + total_swap_pages.</summary>
    public long CommitLimitPages => _mem.TotalRamPages * Ratio / 100 + _mem.Swap.TotalSwapPages;

    /// <summary>totalreserve_pages: per zone, its largest lowmem_reserve plus pages_high, capped at present.</summary>
    public long TotalReservePages { get; private set; }

    /// <summary>calculate_totalreserve_pages: rerun whenever the watermarks or lowmem_reserve change.</summary>
    internal void CalculateTotalReservePages()
    {
        long reserve = 0;
        foreach (var z in _mem.Zones)
        {
            long max = 0;
            for (int j = z.Index; j < z.LowmemReserve.Length; j++)
            {
                max = Math.Max(max, z.LowmemReserve[j]);
            }
            reserve += Math.Min(max + z.PagesHigh, z.PresentPages);
        }
        TotalReservePages = reserve;
    }

    /// <summary>
    /// security_vm_enough_memory for the current task: root (CAP_SYS_ADMIN) keeps the last 3 %.
    /// `mm` is the address space being charged (NEVER mode leaves 3 % of its size for others).
    /// </summary>
    public long VmEnoughMemory(long pages, MmStruct? mm) =>
        VmEnoughMemory(pages, capSysAdmin: _mem.Machine.ThisCpu?.Curr.Euid == 0, mm);

    /// <summary>
    /// __vm_enough_memory: charge `pages` and return 0, or leave them uncharged and return
    /// -ENOMEM. `capSysAdmin` keeps the last 3 % for root; `mm` is current->mm (NEVER mode
    /// leaves 3 % of its size for other processes).
    /// </summary>
    public long VmEnoughMemory(long pages, bool capSysAdmin, MmStruct? mm)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pages);
        CommittedPages += pages;
        if (Mode == OVERCOMMIT_ALWAYS)
        {
            return 0;
        }
        if (Mode == OVERCOMMIT_GUESS)
        {
            long free = _mem.NrFilePages + _mem.Swap.NrSwapPages; // + NR_SLAB_RECLAIMABLE, 0 here
            if (!capSysAdmin)
            {
                free -= free / 32;
            }
            if (free > pages)
            {
                return 0;
            }
            long n = 0;
            foreach (var z in _mem.Zones)
            {
                n += z.FreePages; // nr_free_pages
            }
            long reserve = TotalReservePages;
            if (n > reserve)
            {
                n -= reserve;
                if (!capSysAdmin)
                {
                    n -= n / 32;
                }
                free += n;
                if (free > pages)
                {
                    return 0;
                }
            }
        }
        else
        {
            long allowed = _mem.TotalRamPages * Ratio / 100;
            if (!capSysAdmin)
            {
                allowed -= allowed / 32;
            }
            allowed -= (mm?.TotalVm ?? 0) / 32;
            if (CommittedPages < allowed)
            {
                return 0;
            }
        }
        CommittedPages -= pages;
        return Errno.ENOMEM.Ret();
    }

    /// <summary>vm_unacct_memory.</summary>
    public void Unacct(long pages)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pages);
        CommittedPages -= pages;
        if (CommittedPages < 0)
        {
            throw new KernelBug($"vm_committed_space went negative ({CommittedPages})");
        }
    }
}

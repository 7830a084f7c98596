// Which replacement design reclaim runs, and the hooks every design shares: the nonresident
// table remembers each eviction (remember_page) and each page read back in asks it how long ago
// the page left (recently_evicted), so /proc/refaults compares the designs on equal terms.
namespace Kernel.Mm.Vmscan;

public sealed partial class PageReclaim
{
    private readonly Dictionary<ReplacementPolicy, ReplacementPolicyOps> _opsByKind = new();
    private ReplacementPolicyOps _ops = null!;

    /// <summary>The design in use (/proc/sys/vm/page_replacement).</summary>
    public ReplacementPolicy Policy
    {
        get => _ops.Kind;
        set
        {
            if (_ops is not null && value == _ops.Kind)
            {
                return;
            }
            var next = OpsFor(value);
            _ops?.Leave();
            _ops = next;
            _ops.Enter();
        }
    }

    /// <summary>The design's ops table (its counters, for a harness).</summary>
    public ReplacementPolicyOps Ops => _ops;

    /// <summary>The words /proc/sys/vm/page_replacement takes, in ReplacementPolicy order.</summary>
    public static IReadOnlyList<string> PolicyNames => Names;

    private static readonly string[] Names = ["lru", "clockpro", "2.4.0", "2.4.10"];

    /// <summary>The design a /proc/sys/vm/page_replacement word names.</summary>
    public static bool TryParsePolicy(string word, out ReplacementPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(word);
        int i = Array.IndexOf(Names, word.Trim());
        policy = i < 0 ? ReplacementPolicy.Lru : (ReplacementPolicy)i;
        return i >= 0;
    }

    private ReplacementPolicyOps OpsFor(ReplacementPolicy kind)
    {
        if (!_opsByKind.TryGetValue(kind, out var ops))
        {
            ops = kind switch
            {
                ReplacementPolicy.Lru => new TwoListLru(this, _mem),
                ReplacementPolicy.ClockPro => new ClockProPolicy(this, _mem),
                ReplacementPolicy.Aging24 => new Aging24(this, _mem),
                ReplacementPolicy.Vm2410 => new Vm2410(this, _mem),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such replacement policy"),
            };
            _opsByKind[kind] = ops;
        }
        return ops;
    }

    /// <summary>An order-0 allocation found no zone above pages_low: let the design hand over pages it can free at once. True if it freed any.</summary>
    internal bool ReclaimCleanPages(Zone[] zonelist)
    {
        long freed = 0;
        foreach (var z in zonelist)
        {
            if (z.NrInactiveClean > 0)
            {
                freed += _ops.ReclaimCleanPages(z, Math.Max(1, z.PagesLow - z.FreePages + 1));
            }
        }
        return freed > 0;
    }

    /// <summary>The nonresident page table (remember_page / recently_evicted).</summary>
    public NonresidentTable Nonresident { get; }

    /// <summary>remember_page: reclaim evicted the page named (mapping handle, index) from `zone`.</summary>
    internal void PageEvicted(Zone zone, int mapping, long index)
    {
        Nonresident.RememberPage(mapping, index);
        zone.ClockProEvicted++;
        if (_mem.Tracepoints.Evict.Enabled)
        {
            _mem.Tracepoints.Evict.Emit(new MmVmscanPageEvict(_mem.Machine.Now, _mem.Machine.ThisCpu.Id, zone.Name, mapping, index, mapping == _mem.Swap.SwapperSpace.Handle));
        }
    }

    /// <summary>A page read back in (page_cache_read, read_swap_cache_async): the design decides its list.</summary>
    internal void PageRefault(int mapping, long index, int pfn)
    {
        long distance = Nonresident.RecentlyEvicted(mapping, index);
        _ops.PageRefault(_mem.Zones[_mem.PageAt(pfn).ZoneIndex], distance, pfn);
    }
}

// The LIRS replacement algorithm (Jiang and Zhang, SIGMETRICS 2002) as a cache model beside OPT
// and pure LRU: the algorithm CLOCK-Pro approximates, in its published form. Pages with a small
// inter-reference recency (LIR) hold most of the frames; 1 % (at least one) hold resident HIR
// pages, the newcomers, evicted first. The recency stack S keeps LIR pages and recently seen HIR
// pages (resident or not); a HIR page referenced again while still in S has a shorter reuse
// distance than the oldest LIR page and swaps places with it. Stack pruning keeps a LIR page at
// the bottom of S. Nonresident entries are not bounded (the traces are small).
namespace Kernel.Workloads;

public static class LirsModel
{
    private enum State : byte
    {
        Lir,
        HirResident,
        HirNonresident,
    }

    private sealed class Entry(long page)
    {
        public long Page { get; } = page;
        public State State;
        public LinkedListNode<Entry>? InS;
        public LinkedListNode<Entry>? InQ;
    }

    /// <summary>Hits of a LIRS cache with `frames` frames (1 % of them, at least one, for HIR pages).</summary>
    public static long Hits(IReadOnlyList<long> refs, int frames)
    {
        ArgumentNullException.ThrowIfNull(refs);
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 2);
        int lhirs = Math.Max(1, frames / 100), llirs = frames - lhirs;
        var s = new LinkedList<Entry>(); // First = top of the stack (most recent)
        var q = new LinkedList<Entry>(); // First = the next resident HIR page to evict
        var table = new Dictionary<long, Entry>();
        int lirCount = 0;
        long hits = 0;

        void PushS(Entry e)
        {
            if (e.InS is not null)
            {
                s.Remove(e.InS);
            }
            e.InS = s.AddFirst(e);
        }

        void Prune()
        {
            while (s.Last is { } bottom && bottom.Value.State != State.Lir)
            {
                var e = bottom.Value;
                s.RemoveLast();
                e.InS = null;
                if (e.State == State.HirNonresident)
                {
                    table.Remove(e.Page);
                }
            }
        }

        void DemoteBottomLir()
        {
            var e = s.Last!.Value; // pruned: the bottom is a LIR page
            s.RemoveLast();
            e.InS = null;
            e.State = State.HirResident;
            e.InQ = q.AddLast(e);
            lirCount--;
            Prune();
        }

        foreach (long p in refs)
        {
            table.TryGetValue(p, out var x);
            if (x is { State: State.Lir })
            {
                hits++;
                bool wasBottom = s.Last == x.InS;
                PushS(x);
                if (wasBottom)
                {
                    Prune();
                }
                continue;
            }
            if (x is { State: State.HirResident })
            {
                hits++;
                if (x.InS is not null)
                {
                    // Reused within the stack: LIR now, and the oldest LIR page steps down.
                    q.Remove(x.InQ!);
                    x.InQ = null;
                    x.State = State.Lir;
                    lirCount++;
                    PushS(x);
                    DemoteBottomLir();
                }
                else
                {
                    PushS(x);
                    q.Remove(x.InQ!);
                    x.InQ = q.AddLast(x);
                }
                continue;
            }
            // A miss: fill the LIR frames first, then the HIR ones, then evict the oldest resident HIR page.
            if (lirCount < llirs && q.Count == 0)
            {
                x ??= new Entry(p);
                table[p] = x;
                x.State = State.Lir;
                lirCount++;
                PushS(x);
                continue;
            }
            if (lirCount + q.Count >= frames)
            {
                var victim = q.First!.Value;
                q.RemoveFirst();
                victim.InQ = null;
                if (victim.InS is not null)
                {
                    victim.State = State.HirNonresident;
                }
                else
                {
                    table.Remove(victim.Page);
                }
            }
            if (x is { State: State.HirNonresident } && x.InS is not null)
            {
                x.State = State.Lir;
                lirCount++;
                PushS(x);
                DemoteBottomLir();
                continue;
            }
            x ??= new Entry(p);
            table[p] = x;
            x.State = State.HirResident;
            PushS(x);
            x.InQ = q.AddLast(x);
        }
        return hits;
    }
}

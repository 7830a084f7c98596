// CLOCK-Pro (Jiang, Chen and Zhang, USENIX 2005) as a cache model: the published algorithm van
// Riel's kernel patch approximates, beside LIRS, OPT and pure LRU. One circular list holds hot
// pages, cold resident pages and cold non-resident pages still in their test period; new pages go
// in at the head (just behind HAND_hot). HAND_cold looks for a resident cold page to evict: a
// referenced one in its test period turns hot, a referenced one out of it starts one; an
// unreferenced one is evicted (kept as non-resident while its test period lasts). HAND_hot turns
// the first unreferenced hot page cold and ends the test periods it passes; HAND_test ends test
// periods and drops non-resident pages beyond m. The cold target m_c grows when a page faults in
// its test period (cold space is too small) and shrinks when a test period ends unused.
namespace Kernel.Workloads;

public static class ClockProModel
{
    private sealed class Entry(long page)
    {
        public long Page { get; } = page;
        public bool Hot, Resident = true, Test, Referenced;
        public LinkedListNode<Entry>? Node;
    }

    /// <summary>Hits of a CLOCK-Pro cache with `frames` frames (m_c starts at 1 % of them, at least one).</summary>
    public static long Hits(IReadOnlyList<long> refs, int frames)
    {
        ArgumentNullException.ThrowIfNull(refs);
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 2);
        var clock = new Clock(frames);
        long hits = 0;
        foreach (long p in refs)
        {
            hits += clock.Access(p) ? 1 : 0;
        }
        return hits;
    }

    private sealed class Clock(int m)
    {
        private readonly LinkedList<Entry> _list = new();
        private readonly Dictionary<long, Entry> _table = new();
        private LinkedListNode<Entry>? _hot, _cold, _test;
        private int _hotCount, _coldCount, _nonresCount;
        private int _mc = Math.Max(1, m / 100);

        public bool Access(long p)
        {
            if (_table.TryGetValue(p, out var x) && x.Resident)
            {
                x.Referenced = true;
                return true;
            }
            bool free = _hotCount + _coldCount < m;
            while (_hotCount + _coldCount >= m)
            {
                RunHandCold();
            }
            if (x is not null && x.Node is null)
            {
                x = null; // its test period ended while a frame was found: a new page now
            }
            if (x is null && free && _hotCount < m - _mc)
            {
                // Warm-up: while the hot space is not full, a new page is hot.
                x = new Entry(p) { Hot = true };
                _table[p] = x;
                InsertAtHead(x);
                _hotCount++;
                return false;
            }
            if (x is not null)
            {
                // A fault in its test period: the page's reuse distance is within the hot pages', so
                // it comes back hot, and cold space was too small.
                Remove(x);
                _nonresCount--;
                _mc = Math.Min(m - 1, _mc + 1);
                x.Hot = true;
                x.Test = false;
                x.Resident = true;
                x.Referenced = false;
                InsertAtHead(x);
                _hotCount++;
                while (_hotCount > m - _mc)
                {
                    RunHandHot();
                }
            }
            else
            {
                x = new Entry(p) { Test = true };
                _table[p] = x;
                InsertAtHead(x);
                _coldCount++;
            }
            while (_nonresCount > m)
            {
                RunHandTest();
            }
            return false;
        }

        private LinkedListNode<Entry> Next(LinkedListNode<Entry> n) => n.Next ?? _list.First!;

        private void InsertAtHead(Entry e)
        {
            if (_hot is null)
            {
                e.Node = _list.AddFirst(e);
                _hot = _cold = _test = e.Node;
                return;
            }
            e.Node = _list.AddBefore(_hot, e);
        }

        private void Remove(Entry e)
        {
            var n = e.Node!;
            if (_list.Count == 1)
            {
                _hot = _cold = _test = null;
            }
            else
            {
                if (_hot == n)
                {
                    _hot = Next(n);
                }
                if (_cold == n)
                {
                    _cold = Next(n);
                }
                if (_test == n)
                {
                    _test = Next(n);
                }
            }
            _list.Remove(n);
            e.Node = null;
        }

        private void EndTest(Entry e)
        {
            e.Test = false;
            _mc = Math.Max(1, _mc - 1);
            if (!e.Resident)
            {
                Remove(e);
                _table.Remove(e.Page);
                _nonresCount--;
            }
        }

        /// <summary>HAND_cold: one step; at a resident cold page, promote, restart its test, or evict it.</summary>
        private void RunHandCold()
        {
            var n = _cold!;
            var e = n.Value;
            _cold = Next(n);
            if (e.Hot || !e.Resident)
            {
                return;
            }
            if (e.Referenced)
            {
                e.Referenced = false;
                Remove(e);
                if (e.Test)
                {
                    e.Hot = true;
                    e.Test = false;
                    _coldCount--;
                    _hotCount++;
                    InsertAtHead(e);
                    while (_hotCount > m - _mc)
                    {
                        RunHandHot();
                    }
                }
                else
                {
                    e.Test = true;
                    InsertAtHead(e);
                }
                return;
            }
            _coldCount--;
            e.Resident = false;
            if (e.Test)
            {
                _nonresCount++; // remembered until its test period ends
            }
            else
            {
                Remove(e);
                _table.Remove(e.Page);
            }
        }

        /// <summary>HAND_hot: move until an unreferenced hot page turns cold, ending the test periods passed.</summary>
        private void RunHandHot()
        {
            for (int steps = 0; steps <= 2 * _list.Count + 1; steps++)
            {
                var n = _hot!;
                var e = n.Value;
                _hot = Next(n);
                if (e.Hot)
                {
                    if (e.Referenced)
                    {
                        e.Referenced = false;
                        continue;
                    }
                    e.Hot = false;
                    _hotCount--;
                    _coldCount++;
                    return;
                }
                if (e.Test)
                {
                    EndTest(e);
                }
            }
        }

        /// <summary>HAND_test: move until one non-resident page is dropped, ending the test periods passed.</summary>
        private void RunHandTest()
        {
            while (_test is { } n)
            {
                var e = n.Value;
                _test = Next(n);
                if (e.Hot || !e.Test)
                {
                    continue;
                }
                bool dropped = !e.Resident;
                EndTest(e);
                if (dropped)
                {
                    return;
                }
            }
        }
    }
}

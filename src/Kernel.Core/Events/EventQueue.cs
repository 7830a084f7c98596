// The machine's agenda: a binary min-heap of events ordered by (time, priority, sequence).
// The sequence number makes ties resolve in insertion order, so the same program always
// produces the same interleaving. Cancellation is lazy: targets carry generation numbers.
namespace Kernel.Core.Events;

public sealed class EventQueue
{
    private struct Entry
    {
        public long Time;
        public int Priority;
        public long Seq;
        public IEventTarget Target;
        public long Arg;
    }

    private Entry[] _heap = new Entry[256];
    private int _count;
    private long _seq;

    public int Count => _count;

    /// <summary>Time of the earliest event, or long.MaxValue when empty.</summary>
    public long PeekTime => _count == 0 ? long.MaxValue : _heap[0].Time;

    public void Push(long time, EventPriority priority, IEventTarget target, long arg)
    {
        if (_count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }
        var e = new Entry { Time = time, Priority = (int)priority, Seq = _seq++, Target = target, Arg = arg };
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(in e, in _heap[parent]))
            {
                break;
            }
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = e;
    }

    public bool TryPop(out long time, out IEventTarget target, out long arg)
    {
        if (_count == 0)
        {
            time = 0;
            target = null!;
            arg = 0;
            return false;
        }
        ref var top = ref _heap[0];
        time = top.Time;
        target = top.Target;
        arg = top.Arg;
        var last = _heap[--_count];
        _heap[_count] = default;
        if (_count > 0)
        {
            int i = 0;
            while (true)
            {
                int l = 2 * i + 1;
                if (l >= _count)
                {
                    break;
                }
                int r = l + 1;
                int m = r < _count && Less(in _heap[r], in _heap[l]) ? r : l;
                if (!Less(in _heap[m], in last))
                {
                    break;
                }
                _heap[i] = _heap[m];
                i = m;
            }
            _heap[i] = last;
        }
        return true;
    }

    private static bool Less(in Entry a, in Entry b)
    {
        if (a.Time != b.Time)
        {
            return a.Time < b.Time;
        }
        if (a.Priority != b.Priority)
        {
            return a.Priority < b.Priority;
        }
        return a.Seq < b.Seq;
    }
}

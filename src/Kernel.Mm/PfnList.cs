// include/linux/list.h for frames: a doubly linked list threaded through mem_map's LruNext and
// LruPrev fields by pfn, with -1 for "none", so linking and unlinking a page allocate nothing and
// Page stays reference-free. The buddy free areas and the per-CPU hot/cold lists use it; the LRU
// lists of reclaim will. A page is on at most one PfnList at a time (its links say where).
namespace Kernel.Mm;

public struct PfnList
{
    /// <summary>First pfn (list_first_entry), -1 when empty.</summary>
    public int Head;

    /// <summary>Last pfn (list_last_entry), -1 when empty.</summary>
    public int Tail;

    public static PfnList Empty => new() { Head = -1, Tail = -1 };

    public readonly bool IsEmpty => Head < 0;

    /// <summary>list_add: `pfn` becomes the first entry.</summary>
    public void AddHead(Page[] map, int pfn)
    {
        ref var page = ref map[pfn];
        page.LruPrev = -1;
        page.LruNext = Head;
        if (Head >= 0)
        {
            map[Head].LruPrev = pfn;
        }
        else
        {
            Tail = pfn;
        }
        Head = pfn;
    }

    /// <summary>list_add_tail: `pfn` becomes the last entry.</summary>
    public void AddTail(Page[] map, int pfn)
    {
        ref var page = ref map[pfn];
        page.LruNext = -1;
        page.LruPrev = Tail;
        if (Tail >= 0)
        {
            map[Tail].LruNext = pfn;
        }
        else
        {
            Head = pfn;
        }
        Tail = pfn;
    }

    /// <summary>list_del: unlink `pfn` (which must be on this list) and clear its links.</summary>
    public void Del(Page[] map, int pfn)
    {
        ref var page = ref map[pfn];
        if (page.LruPrev >= 0)
        {
            map[page.LruPrev].LruNext = page.LruNext;
        }
        else
        {
            Head = page.LruNext;
        }
        if (page.LruNext >= 0)
        {
            map[page.LruNext].LruPrev = page.LruPrev;
        }
        else
        {
            Tail = page.LruPrev;
        }
        page.LruNext = -1;
        page.LruPrev = -1;
    }
}

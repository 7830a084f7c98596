// The elevators' sort tree (2.6.20 block/elevator.c elv_rb_add/elv_rb_del/elv_rb_find and the
// rb_first/rb_next/rb_prev walks): requests keyed by start sector, unique keys, so adding a
// request whose sector is taken returns the one already there (the "alias" deadline moves out of
// the way). Linux uses a red-black tree; this is a treap, also O(log n) for every operation and
// with the same in-order walk. It is intrusive (the links live in Request, as rb_node does) and
// its priorities come from a fixed sequence, so its shape, and every run, is deterministic.
namespace Kernel.Block;

public sealed class SectorTree
{
    private Request? _root;
    private uint _seed = 0x9e3779b9;

    /// <summary>Requests on the tree.</summary>
    public int Count { get; private set; }

    public bool IsEmpty => _root is null;

    /// <summary>Whether `rq` is on this tree.</summary>
    public bool Contains(Request rq) => rq.RbTree == this;

    /// <summary>elv_rb_add: insert `rq` by its sector; returns the request already at that sector (and inserts nothing), or null.</summary>
    public Request? Add(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (rq.RbTree is not null)
        {
            throw new Kernel.Core.KernelBug($"elv_rb_add: {rq} is already on a sort tree");
        }
        Request? parent = null;
        var n = _root;
        bool left = false;
        while (n is not null)
        {
            parent = n;
            if (rq.Sector < n.Sector)
            {
                n = n.RbLeft;
                left = true;
            }
            else if (rq.Sector > n.Sector)
            {
                n = n.RbRight;
                left = false;
            }
            else
            {
                return n;
            }
        }
        rq.RbTree = this;
        rq.RbLeft = rq.RbRight = null;
        rq.RbParent = parent;
        rq.RbPriority = NextPriority();
        if (parent is null)
        {
            _root = rq;
        }
        else if (left)
        {
            parent.RbLeft = rq;
        }
        else
        {
            parent.RbRight = rq;
        }
        while (rq.RbParent is { } p && p.RbPriority < rq.RbPriority)
        {
            if (p.RbLeft == rq)
            {
                RotateRight(p);
            }
            else
            {
                RotateLeft(p);
            }
        }
        Count++;
        return null;
    }

    /// <summary>elv_rb_del: take `rq` off the tree.</summary>
    public void Remove(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (rq.RbTree != this)
        {
            throw new Kernel.Core.KernelBug($"elv_rb_del: {rq} is not on this sort tree");
        }
        // Rotate it down until it has at most one child, then splice it out.
        while (rq.RbLeft is not null && rq.RbRight is not null)
        {
            if (rq.RbLeft.RbPriority > rq.RbRight.RbPriority)
            {
                RotateRight(rq);
            }
            else
            {
                RotateLeft(rq);
            }
        }
        var child = rq.RbLeft ?? rq.RbRight;
        Replace(rq, child);
        rq.RbTree = null;
        rq.RbLeft = rq.RbRight = rq.RbParent = null;
        Count--;
    }

    /// <summary>elv_rb_find: the request starting at `sector`, or null.</summary>
    public Request? Find(long sector)
    {
        var n = _root;
        while (n is not null)
        {
            if (sector < n.Sector)
            {
                n = n.RbLeft;
            }
            else if (sector > n.Sector)
            {
                n = n.RbRight;
            }
            else
            {
                return n;
            }
        }
        return null;
    }

    /// <summary>rb_first: the lowest-sector request, or null.</summary>
    public Request? First()
    {
        var n = _root;
        while (n?.RbLeft is not null)
        {
            n = n.RbLeft;
        }
        return n;
    }

    /// <summary>rb_next: the request after `rq` in sector order, or null.</summary>
    public static Request? Next(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (rq.RbRight is { } r)
        {
            while (r.RbLeft is not null)
            {
                r = r.RbLeft;
            }
            return r;
        }
        var n = rq;
        while (n.RbParent is { } p && p.RbRight == n)
        {
            n = p;
        }
        return n.RbParent;
    }

    /// <summary>rb_prev: the request before `rq` in sector order, or null.</summary>
    public static Request? Prev(Request rq)
    {
        ArgumentNullException.ThrowIfNull(rq);
        if (rq.RbLeft is { } l)
        {
            while (l.RbRight is not null)
            {
                l = l.RbRight;
            }
            return l;
        }
        var n = rq;
        while (n.RbParent is { } p && p.RbLeft == n)
        {
            n = p;
        }
        return n.RbParent;
    }

    /// <summary>The requests in sector order.</summary>
    public IEnumerable<Request> InOrder()
    {
        for (var n = First(); n is not null; n = Next(n))
        {
            yield return n;
        }
    }

    private uint NextPriority()
    {
        // xorshift32: a fixed sequence, so the same insertions always build the same tree.
        uint x = _seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _seed = x;
        return x;
    }

    private void Replace(Request old, Request? with)
    {
        var p = old.RbParent;
        if (with is not null)
        {
            with.RbParent = p;
        }
        if (p is null)
        {
            _root = with;
        }
        else if (p.RbLeft == old)
        {
            p.RbLeft = with;
        }
        else
        {
            p.RbRight = with;
        }
    }

    private void RotateLeft(Request x)
    {
        var y = x.RbRight!;
        Replace(x, y);
        x.RbRight = y.RbLeft;
        if (y.RbLeft is not null)
        {
            y.RbLeft.RbParent = x;
        }
        y.RbLeft = x;
        x.RbParent = y;
    }

    private void RotateRight(Request x)
    {
        var y = x.RbLeft!;
        Replace(x, y);
        x.RbLeft = y.RbRight;
        if (y.RbRight is not null)
        {
            y.RbRight.RbParent = x;
        }
        y.RbRight = x;
        x.RbParent = y;
    }
}

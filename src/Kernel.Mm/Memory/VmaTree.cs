// The mm's VMAs ordered by address: an AVL tree (Linux uses an rbtree plus a list), so find_vma
// and insertion are O(log n). VMAs never overlap, so ordering by vm_start also orders vm_end.
namespace Kernel.Mm.Memory;

public sealed class VmaTree
{
    private Vma? _root;

    public int Count { get; private set; }

    /// <summary>find_vma: the first VMA with vm_end > addr (it may start above addr), or null.</summary>
    public Vma? FindVma(long addr)
    {
        Vma? best = null;
        var n = _root;
        while (n is not null)
        {
            if (n.VmEnd > addr)
            {
                best = n;
                if (n.VmStart <= addr)
                {
                    return n;
                }
                n = n.Left;
            }
            else
            {
                n = n.Right;
            }
        }
        return best;
    }

    /// <summary>The last VMA starting below addr (find_vma_prev's prev), or null.</summary>
    public Vma? FindPrev(long addr)
    {
        Vma? best = null;
        var n = _root;
        while (n is not null)
        {
            if (n.VmStart < addr)
            {
                best = n;
                n = n.Right;
            }
            else
            {
                n = n.Left;
            }
        }
        return best;
    }

    public void Insert(Vma v)
    {
        _root = Insert(_root, v);
        Count++;
    }

    public void Remove(Vma v)
    {
        _root = Remove(_root, v.VmStart, v);
        Count--;
        v.Left = v.Right = null;
        v.Height = 1;
    }

    /// <summary>All VMAs in address order.</summary>
    public IEnumerable<Vma> InOrder()
    {
        var stack = new Stack<Vma>();
        var n = _root;
        while (stack.Count > 0 || n is not null)
        {
            while (n is not null)
            {
                stack.Push(n);
                n = n.Left;
            }
            n = stack.Pop();
            yield return n;
            n = n.Right;
        }
    }

    private static int H(Vma? n) => n?.Height ?? 0;

    private static void Fix(Vma n) => n.Height = 1 + Math.Max(H(n.Left), H(n.Right));

    private static Vma RotateRight(Vma y)
    {
        var x = y.Left!;
        y.Left = x.Right;
        x.Right = y;
        Fix(y);
        Fix(x);
        return x;
    }

    private static Vma RotateLeft(Vma x)
    {
        var y = x.Right!;
        x.Right = y.Left;
        y.Left = x;
        Fix(x);
        Fix(y);
        return y;
    }

    private static Vma Balance(Vma n)
    {
        Fix(n);
        int bf = H(n.Left) - H(n.Right);
        if (bf > 1)
        {
            if (H(n.Left!.Left) < H(n.Left.Right))
            {
                n.Left = RotateLeft(n.Left);
            }
            return RotateRight(n);
        }
        if (bf < -1)
        {
            if (H(n.Right!.Right) < H(n.Right.Left))
            {
                n.Right = RotateRight(n.Right);
            }
            return RotateLeft(n);
        }
        return n;
    }

    private static Vma Insert(Vma? n, Vma v)
    {
        if (n is null)
        {
            v.Left = v.Right = null;
            v.Height = 1;
            return v;
        }
        if (v.VmStart < n.VmStart)
        {
            n.Left = Insert(n.Left, v);
        }
        else if (v.VmStart > n.VmStart)
        {
            n.Right = Insert(n.Right, v);
        }
        else
        {
            throw new Kernel.Core.KernelBug($"vma at {v.VmStart:x} inserted twice");
        }
        return Balance(n);
    }

    private static Vma? Remove(Vma? n, long start, Vma target)
    {
        if (n is null)
        {
            throw new Kernel.Core.KernelBug($"removing vma at {start:x} that is not in the tree");
        }
        if (start < n.VmStart)
        {
            n.Left = Remove(n.Left, start, target);
        }
        else if (start > n.VmStart)
        {
            n.Right = Remove(n.Right, start, target);
        }
        else
        {
            if (n.Left is null || n.Right is null)
            {
                return n.Left ?? n.Right;
            }
            var min = n.Right;
            while (min.Left is not null)
            {
                min = min.Left;
            }
            min.Right = RemoveMin(n.Right);
            min.Left = n.Left;
            return Balance(min);
        }
        return Balance(n);
    }

    private static Vma? RemoveMin(Vma n)
    {
        if (n.Left is null)
        {
            return n.Right;
        }
        n.Left = RemoveMin(n.Left);
        return Balance(n);
    }

    /// <summary>Sorted, non-overlapping, page aligned, non-empty, and the tree balanced.</summary>
    public IEnumerable<string> CheckInvariants(string who)
    {
        long prevEnd = long.MinValue;
        int n = 0;
        foreach (var v in InOrder())
        {
            n++;
            if (v.VmStart >= v.VmEnd || (v.VmStart & (MemoryLayout.PAGE_SIZE - 1)) != 0 || (v.VmEnd & (MemoryLayout.PAGE_SIZE - 1)) != 0)
            {
                yield return $"{who}: bad vma {v}";
            }
            if (v.VmStart < prevEnd)
            {
                yield return $"{who}: vma {v} overlaps its predecessor";
            }
            prevEnd = v.VmEnd;
        }
        if (n != Count)
        {
            yield return $"{who}: map_count {Count} but {n} vmas in the tree";
        }
        if (_root is not null && Math.Abs(H(_root.Left) - H(_root.Right)) > 1)
        {
            yield return $"{who}: vma tree out of balance";
        }
    }
}

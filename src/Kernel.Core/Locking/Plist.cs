// lib/plist.c, the role it plays for rt_mutex: a list kept sorted by priority (lower number
// first), FIFO among equal priorities. The lists it holds are short (the waiters of one lock, the
// top waiters of the locks one task owns), so a sorted array is the whole implementation.
namespace Kernel.Core.Locking;

public sealed class Plist<T>
    where T : class
{
    private readonly List<(int Prio, T Item)> _nodes = new();

    public bool IsEmpty => _nodes.Count == 0;

    /// <summary>plist_first: the entry with the lowest priority number, or null.</summary>
    public T? First => _nodes.Count == 0 ? null : _nodes[0].Item;

    /// <summary>The priority of the first entry (valid only when not empty).</summary>
    public int FirstPrio => _nodes[0].Prio;

    /// <summary>plist_add: after every entry of the same or a better priority.</summary>
    public void Add(int prio, T item)
    {
        int i = _nodes.Count;
        while (i > 0 && _nodes[i - 1].Prio > prio)
        {
            i--;
        }
        _nodes.Insert(i, (prio, item));
    }

    /// <summary>plist_del: false if the item was not on the list.</summary>
    public bool Remove(T item)
    {
        for (int i = 0; i < _nodes.Count; i++)
        {
            if (ReferenceEquals(_nodes[i].Item, item))
            {
                _nodes.RemoveAt(i);
                return true;
            }
        }
        return false;
    }

    public IEnumerable<(int Prio, T Item)> Entries => _nodes;
}

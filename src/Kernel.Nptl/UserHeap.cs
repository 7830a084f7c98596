// Where the library's objects live: words in the program's own memory, as pthread_mutex_t and
// friends live in a C program's memory. A bump allocator over anonymous mappings (private by
// default: the objects are for the threads of one process; a shared heap serves processes that
// inherit it across fork, as PTHREAD_PROCESS_SHARED objects in MAP_SHARED memory do).
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Syscalls;

namespace Kernel.Nptl;

public sealed class UserHeap
{
    private readonly long _base;
    private readonly long _size;
    private long _next;
    private readonly Stack<long> _freeTidWords = new();

    private UserHeap(long @base, long size, bool shared)
    {
        _base = @base;
        _size = size;
        _next = @base;
        Shared = shared;
    }

    /// <summary>Whether the heap is MAP_SHARED (its futexes then need shared keys).</summary>
    public bool Shared { get; }

    /// <summary>Map `pages` pages for objects; throws if the mapping fails (a program would abort).</summary>
    public static async ValueTask<UserHeap> Create(UserTask self, int pages = 4, bool shared = false)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pages);
        long size = pages * (long)MemoryLayout.PAGE_SIZE;
        int flags = (shared ? MapFlags.MAP_SHARED : MapFlags.MAP_PRIVATE) | MapFlags.MAP_ANONYMOUS;
        long a = await self.Mmap(0, size, Prot.PROT_READ | Prot.PROT_WRITE, flags);
        if (a < 0)
        {
            throw new InvalidOperationException($"mmap of the thread heap failed: {a}");
        }
        return new UserHeap(a, size, shared);
    }

    /// <summary>A thread descriptor's tid word: a joined thread's, else a new one (NPTL caches descriptors the same way).</summary>
    internal long AllocTidWord() => _freeTidWords.TryPop(out long w) ? w : Alloc(sizeof(int));

    internal void ReleaseTidWord(long word) => _freeTidWords.Push(word);

    /// <summary>`bytes` zeroed bytes, 8-byte aligned.</summary>
    public long Alloc(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        long a = _next;
        long end = a + ((bytes + 7) & ~7);
        if (end > _base + _size)
        {
            throw new InvalidOperationException($"the thread heap of {_size} bytes is full");
        }
        _next = end;
        return a;
    }
}

// rwlock_t: many readers or one writer, spinning. Linux's rwlocks favour readers: a reader gets
// in whenever no writer holds the lock, even with writers spinning (so writers can starve).
// Used from async kernel paths through Machine.ReadLock/WriteLock.
using Kernel.Core.Smp;
using Kernel.Core.Tasks;

namespace Kernel.Core.Locking;

public sealed partial class KRwLock
{
    internal readonly List<(Cpu Cpu, bool Write)> Waiters = new();

    public KRwLock(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public int Readers { get; internal set; }

    public TaskStruct? Writer { get; internal set; }

    public long Contentions { get; internal set; }

    public long SpinNs { get; internal set; }

    public override string ToString() => Name;
}

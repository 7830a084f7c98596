// Linux 2.6.20 kernel/softirq.c: the softirq vector (open_softirq registers an action for a
// number, raise_softirq marks it pending on this CPU) and __do_softirq, which irq_exit runs when
// it leaves the last hardirq: every pending action in number order, repeating while new ones are
// raised, at most MAX_SOFTIRQ_RESTART times (the rest waits for the next interrupt; ksoftirqd
// is not modelled). The tick raises TIMER_SOFTIRQ; the O(1) scheduler raises SCHED_SOFTIRQ when
// rebalancing is due; a block layer will raise BLOCK_SOFTIRQ from its completion interrupt.
using Kernel.Core.Smp;

namespace Kernel.Core;

/// <summary>The softirq numbers of include/linux/interrupt.h (2.6.20).</summary>
public enum SoftirqNr
{
    HI_SOFTIRQ = 0,
    TIMER_SOFTIRQ,
    NET_TX_SOFTIRQ,
    NET_RX_SOFTIRQ,
    BLOCK_SOFTIRQ,
    TASKLET_SOFTIRQ,
    SCHED_SOFTIRQ,
}

public sealed class Softirq
{
    public const int NR_SOFTIRQS = 32;

    /// <summary>__do_softirq gives up after this many rounds of newly raised work.</summary>
    public const int MAX_SOFTIRQ_RESTART = 10;

    private readonly Action<Cpu>?[] _vec = new Action<Cpu>?[NR_SOFTIRQS];
    private readonly uint[] _pending;

    internal Softirq(int cpus) => _pending = new uint[cpus];

    /// <summary>open_softirq: the action run for `nr` (once per number; the owner registers it at boot).</summary>
    public void Open(SoftirqNr nr, Action<Cpu> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (_vec[(int)nr] is not null)
        {
            throw new InvalidOperationException($"{nr} already has an action.");
        }
        _vec[(int)nr] = action;
    }

    /// <summary>raise_softirq on `cpu`: the action runs at that CPU's next irq_exit.</summary>
    public void Raise(Cpu cpu, SoftirqNr nr)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        _pending[cpu.Id] |= 1u << (int)nr;
    }

    /// <summary>local_softirq_pending for `cpu`.</summary>
    public uint Pending(Cpu cpu)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        return _pending[cpu.Id];
    }

    /// <summary>Softirq actions run so far, per number (a /proc/softirqs-like count for tests).</summary>
    public long[] Runs { get; } = new long[NR_SOFTIRQS];

    /// <summary>__do_softirq: run what is pending on `cpu`, in number order, restarting while more is raised.</summary>
    internal void DoSoftirq(Cpu cpu)
    {
        for (int restart = 0; restart < MAX_SOFTIRQ_RESTART && _pending[cpu.Id] != 0; restart++)
        {
            uint pending = _pending[cpu.Id];
            _pending[cpu.Id] = 0;
            for (int nr = 0; pending != 0; nr++, pending >>= 1)
            {
                if ((pending & 1) != 0 && _vec[nr] is { } action)
                {
                    Runs[nr]++;
                    action(cpu);
                }
            }
        }
    }
}

// Linux 2.6.20 include/linux/sched.h struct signal_struct, the part modelled so far: what a thread
// group shares about waiting, job control and signals sent to the group (shared_pending). Threads
// created with CLONE_THREAD share it; fork gives the child its own (copy_signal).
using Kernel.Core.Locking;

namespace Kernel.Process;

internal sealed class SignalStruct
{
    public SignalStruct(int pid)
    {
        WaitChldexit = new WaitQueueHead($"wait_chldexit/{pid}");
    }

    /// <summary>count: the tasks of the group sharing it.</summary>
    public int Count { get; set; } = 1;

    /// <summary>wait_chldexit: where wait4 sleeps for a child to change state.</summary>
    public WaitQueueHead WaitChldexit { get; }

    /// <summary>group_exit_code of a stop: the signal that stopped the group, not yet reported to wait4.</summary>
    public int StopSignalToReport { get; set; }

    /// <summary>SIGNAL_STOP_CONTINUED: continued from a stop, not yet reported.</summary>
    public bool ContinuedToReport { get; set; }

    /// <summary>SIGNAL_GROUP_EXIT: exit_group ran; every thread dies with GroupExitCode.</summary>
    public bool GroupExit { get; set; }

    /// <summary>group_exit_code: the wait status every thread of an exiting group reports.</summary>
    public int GroupExitCode { get; set; }

    /// <summary>shared_pending: signals sent to the whole group (kill), taken by whichever thread does not block them.</summary>
    public ulong SharedPending { get; set; }

    /// <summary>curr_target: where the round-robin search for a thread to wake starts next.</summary>
    public Kernel.Core.Tasks.TaskStruct? CurrTarget { get; set; }
}

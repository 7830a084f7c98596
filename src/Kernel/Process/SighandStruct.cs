// Linux 2.6.20 include/linux/sched.h struct sighand_struct: the signal actions, shared by the
// threads created with CLONE_SIGHAND and copied by fork (copy_sighand). A handler is a host
// delegate the emulated program registered; it runs on the way back to user mode.
namespace Kernel.Process;

/// <summary>What a task does with a signal (k_sigaction reduced to the three cases).</summary>
public enum SignalDisposition
{
    Default,
    Ignore,
    Handler,
}

internal sealed class SighandStruct
{
    /// <summary>action[sig]: the disposition of each signal, indexed by signal number.</summary>
    public SignalDisposition[] Action { get; } = new SignalDisposition[Signals._NSIG + 1];

    /// <summary>The handlers of the signals whose disposition is Handler.</summary>
    public Action<int>?[] Handlers { get; } = new Action<int>?[Signals._NSIG + 1];

    /// <summary>copy_sighand without CLONE_SIGHAND: a private copy of the parent's actions.</summary>
    public SighandStruct Copy()
    {
        var c = new SighandStruct();
        Action.CopyTo(c.Action, 0);
        Handlers.CopyTo(c.Handlers, 0);
        return c;
    }
}

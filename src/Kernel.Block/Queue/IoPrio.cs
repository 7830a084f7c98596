// Linux 2.6.20 include/linux/ioprio.h: an I/O priority is a class (real time, best effort, idle)
// and a level 0..7 within it, packed in 16 bits (class << 13 | data). A task that never set one
// has class NONE, and CFQ places it in best effort at (nice + 20) / 5, so CPU nice moves its
// disk share too. Only CFQ acts on it; the other elevators ignore it, as in Linux.
using Kernel.Core.Tasks;

namespace Kernel.Block;

/// <summary>IOPRIO_CLASS_*.</summary>
public enum IoprioClass
{
    IOPRIO_CLASS_NONE = 0,
    IOPRIO_CLASS_RT = 1,
    IOPRIO_CLASS_BE = 2,
    IOPRIO_CLASS_IDLE = 3,
}

/// <summary>IOPRIO_WHO_*: what ioprio_set and ioprio_get's `who` names.</summary>
public enum IoprioWho
{
    IOPRIO_WHO_PROCESS = 1,
    IOPRIO_WHO_PGRP = 2,
    IOPRIO_WHO_USER = 3,
}

public static class IoPrio
{
    public const int IOPRIO_BITS = 16;
    public const int IOPRIO_CLASS_SHIFT = 13;
    public const int IOPRIO_PRIO_MASK = (1 << IOPRIO_CLASS_SHIFT) - 1;

    /// <summary>IOPRIO_BE_NR: levels per class.</summary>
    public const int IOPRIO_BE_NR = 8;

    /// <summary>IOPRIO_NORM: the middle best-effort level.</summary>
    public const int IOPRIO_NORM = 4;

    public static IoprioClass Class(int ioprio) => (IoprioClass)(ioprio >> IOPRIO_CLASS_SHIFT);

    public static int Data(int ioprio) => ioprio & IOPRIO_PRIO_MASK;

    /// <summary>IOPRIO_PRIO_VALUE(class, data).</summary>
    public static int Value(IoprioClass cls, int data) => ((int)cls << IOPRIO_CLASS_SHIFT) | data;

    /// <summary>task_nice_ioprio: the best-effort level a task's nice maps to.</summary>
    public static int TaskNiceIoprio(TaskStruct task)
    {
        ArgumentNullException.ThrowIfNull(task);
        // Nice -20..19 gives 0..7; the idle task, kept at MAX_PRIO here, is clamped to the lowest level.
        return Math.Clamp((task.Nice + 20) / 5, 0, IOPRIO_BE_NR - 1);
    }

    /// <summary>ioprio_best: the higher of two priorities (RT over BE over IDLE, then the lower level); no class counts as BE.</summary>
    public static int Best(int a, int b)
    {
        var ac = Class(a) == IoprioClass.IOPRIO_CLASS_NONE ? IoprioClass.IOPRIO_CLASS_BE : Class(a);
        var bc = Class(b) == IoprioClass.IOPRIO_CLASS_NONE ? IoprioClass.IOPRIO_CLASS_BE : Class(b);
        if (ac == bc)
        {
            return Math.Min(a, b);
        }
        return ac > bc ? b : a;
    }
}

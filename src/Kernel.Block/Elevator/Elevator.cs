// Linux 2.6.20 include/linux/elevator.h: an I/O scheduler is an ops table (elevator_ops) plus its
// per-queue data (elevator_data). Here one object is both: the registry makes a fresh instance
// for each queue that selects it, and the generic code in RequestQueue.Elevator.cs (elevator.c)
// calls these hooks. A hook that 2.6.20 leaves NULL for an elevator keeps the default below,
// which is what elevator.c does for a NULL pointer.
using Kernel.Core;

namespace Kernel.Block;

/// <summary>ELEVATOR_NO_MERGE, ELEVATOR_FRONT_MERGE, ELEVATOR_BACK_MERGE.</summary>
public enum ElvMergeType
{
    NoMerge = 0,
    FrontMerge = 1,
    BackMerge = 2,
}

/// <summary>elv_may_queue's answers (ELV_MQUEUE_MAY, _NO, _MUST).</summary>
public enum ElvMayQueue
{
    May = 0,
    No = 1,
    Must = 2,
}

/// <summary>
/// A tunable under /sys/block/DEV/queue/iosched/ (struct elv_fs_entry): `Show` gives the text,
/// `Store` parses and applies one and returns 0 or -errno.
/// </summary>
public sealed record ElvAttribute(string Name, Func<string> Show, Func<string, long>? Store)
{
    /// <summary>
    /// An integer tunable shown as "%d\n". A store takes one decimal integer (white space around it
    /// allowed). Deviation: 2.6.20 parses with simple_strtol and clamps to [min, max]; here text
    /// that is not a number, or a value outside [min, max], is -EINVAL and changes nothing.
    /// </summary>
    public static ElvAttribute Number(string name, Func<long> get, Action<long> set, long min, long max) =>
        new(name, () => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{get()}\n"), text =>
        {
            if (!Kernel.Core.Proc.ProcRegistry.TryParseInts(text, out var v) || v.Length != 1 || v[0] < min || v[0] > max)
            {
                return Kernel.Core.Errno.EINVAL.Ret();
            }
            set(v[0]);
            return 0;
        });

    /// <summary>A read-only attribute (a write is -EACCES).</summary>
    public static ElvAttribute ReadOnly(string name, Func<string> show) => new(name, show, null);
}

public abstract class Elevator
{
    /// <summary>elevator_name ("noop", "deadline").</summary>
    public abstract string Name { get; }

    /// <summary>The queue it schedules (set when it is attached).</summary>
    public RequestQueue Q { get; internal set; } = null!;

    /// <summary>elevator_init_fn: set up for `Q` (called once it is set).</summary>
    protected internal virtual void Init()
    {
    }

    /// <summary>elevator_merge_fn: find a request `bio` may merge into beyond the generic cache and hash.</summary>
    public virtual ElvMergeType Merge(Bio bio, out Request? rq)
    {
        rq = null;
        return ElvMergeType.NoMerge;
    }

    /// <summary>elv_rb_find for a front merge: the request in `tree` that starts where `bio` ends, if `bio` may join it.</summary>
    protected ElvMergeType FrontMergeIn(SectorTree tree, Bio bio, out Request? rq)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(bio);
        var found = tree.Find(bio.Sector + bio.Sectors);
        rq = found is not null && Q.ElvRqMergeOk(found, bio) ? found : null;
        return rq is null ? ElvMergeType.NoMerge : ElvMergeType.FrontMerge;
    }

    /// <summary>elevator_merged_fn: `rq` grew by a merge of `type`.</summary>
    public virtual void Merged(Request rq, ElvMergeType type)
    {
    }

    /// <summary>elevator_merge_req_fn: `nextRq` was merged into `rq` and is going away.</summary>
    public virtual void MergeRequests(Request rq, Request nextRq)
    {
    }

    /// <summary>elevator_allow_merge_fn: whether `bio` may join `rq` (CFQ checks the queue it belongs to).</summary>
    public virtual bool AllowMerge(Request rq, Bio bio) => true;

    /// <summary>elevator_dispatch_fn: move requests to the dispatch queue; false when it had none to give (`force`: drain everything).</summary>
    public abstract bool Dispatch(bool force);

    /// <summary>elevator_add_req_fn: a new sorted request.</summary>
    public abstract void AddRequest(Request rq);

    /// <summary>elevator_queue_empty_fn: nothing waiting in the elevator.</summary>
    public abstract bool QueueEmpty { get; }

    /// <summary>elevator_former_req_fn: the request before `rq` (for a front merge of two requests).</summary>
    public virtual Request? FormerRequest(Request rq) => null;

    /// <summary>elevator_latter_req_fn: the request after `rq` (for a back merge of two requests).</summary>
    public virtual Request? LatterRequest(Request rq) => null;

    /// <summary>elevator_activate_req_fn: the driver saw `rq` for the first time.</summary>
    public virtual void ActivateRequest(Request rq)
    {
    }

    /// <summary>elevator_deactivate_req_fn: the driver gave `rq` back (a requeue).</summary>
    public virtual void DeactivateRequest(Request rq)
    {
    }

    /// <summary>elevator_completed_req_fn: the driver finished `rq`.</summary>
    public virtual void CompletedRequest(Request rq)
    {
    }

    /// <summary>elevator_set_req_fn: set up private data for a new request; 0 or -ENOMEM.</summary>
    public virtual int SetRequest(Request rq)
    {
        rq.ElevatorPrivate = null;
        return 0;
    }

    /// <summary>elevator_put_req_fn: the request is freed.</summary>
    public virtual void PutRequest(Request rq)
    {
    }

    /// <summary>elevator_may_queue_fn: whether the submitting task may allocate a request for direction `rw` (and REQ_RW_SYNC) now.</summary>
    public virtual ElvMayQueue MayQueue(int rw, bool sync) => ElvMayQueue.May;

    /// <summary>The elevator's own consistency checks (the invariant checker calls it).</summary>
    internal virtual void CheckInvariants(List<string> problems)
    {
    }

    /// <summary>elevator_exit_fn: the queue switched away or is going; nothing may be left inside.</summary>
    public virtual void ExitQueue()
    {
    }

    /// <summary>elevator_attrs: the tunables under iosched/, in Linux's order.</summary>
    public virtual IReadOnlyList<ElvAttribute> Attributes => [];

    /// <summary>Live requests allocated while it was the queue's elevator (rq.elvpriv for it).</summary>
    public int Outstanding { get; internal set; }

    /// <summary>The queue switched away from it; it exits when Outstanding reaches 0.</summary>
    public bool Retiring { get; internal set; }

    /// <summary>Requests the elevator holds (for the invariant checker and the renderers).</summary>
    public abstract int Queued { get; }

    /// <summary>The requests it holds, in no particular order.</summary>
    public abstract IEnumerable<Request> QueuedRequests { get; }

    public override string ToString() => Name;
}

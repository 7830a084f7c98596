// Linux 2.6.20 block/cfq-iosched.c, queues and io contexts: the cfq_queue hash (by pid, or 0 for
// async, and priority) with its reference counts, the ioprio a queue takes from its task, each
// process's cfq_io_context with its think-time and seek statistics, and the idle-window decision
// made from them.
using Kernel.Core;
using Kernel.Core.Tasks;

namespace Kernel.Block;

public sealed partial class CfqElevator
{
    /// <summary>cfq_queue_pid: the process's own queue for reads and sync writes, the shared async one otherwise.</summary>
    private static int QueuePid(TaskStruct task, int rw, bool isSync) => rw == 0 || isSync ? task.Pid : CFQ_KEY_ASYNC;

    /// <summary>__cfq_find_cfq_hash: the queue with `key` and priority `prio` (0 matches any).</summary>
    private CfqQueue? FindCfqHash(int key, int prio)
    {
        foreach (var cfqq in _hash[RequestQueue.HashLong(key, CFQ_QHASH_SHIFT)])
        {
            int p = IoPrio.Value(cfqq.OrgIoprioClass, cfqq.OrgIoprio);
            if (cfqq.Key == key && (p == prio || prio == 0))
            {
                return cfqq;
            }
        }
        return null;
    }

    /// <summary>The existing queue the submitting task's I/O of direction `rw` (and sync-ness) goes to, if any.</summary>
    private CfqQueue? SubmitterQueue(int rw, bool sync)
    {
        var tsk = Q.Submitter;
        return FindCfqHash(QueuePid(tsk, rw, sync), tsk.IoPrio);
    }

    /// <summary>cfq_get_queue: the queue for `key` at the task's priority, made (new, idling allowed) if there is none; one more reference.</summary>
    private CfqQueue GetQueue(int key, TaskStruct task)
    {
        var cfqq = FindCfqHash(key, task.IoPrio);
        if (cfqq is null)
        {
            cfqq = new CfqQueue(this, key)
            {
                SliceLeft = 2 * SliceIdle, // lets a new process preempt
            };
            _hash[RequestQueue.HashLong(key, CFQ_QHASH_SHIFT)].Insert(0, cfqq);
            cfqq.Mark(CfqQueueFlags.IdleWindow | CfqQueueFlags.PrioChanged | CfqQueueFlags.QueueNew);
            InitPrioData(cfqq);
        }
        cfqq.Ref++;
        return cfqq;
    }

    /// <summary>cfq_put_queue: drop a reference; the last one frees the queue.</summary>
    private void PutQueue(CfqQueue cfqq)
    {
        if (cfqq.Ref <= 0)
        {
            throw new KernelBug($"cfq_put_queue: {cfqq} has no references");
        }
        if (--cfqq.Ref > 0)
        {
            return;
        }
        if (!cfqq.SortList.IsEmpty || cfqq.Allocated[0] + cfqq.Allocated[1] != 0 || cfqq.Has(CfqQueueFlags.OnRr))
        {
            throw new KernelBug($"cfq_put_queue: {cfqq} freed while it has requests");
        }
        if (ActiveQueue == cfqq)
        {
            SliceExpired(cfqq, preempted: false);
        }
        cfqq.RrNode.List?.Remove(cfqq.RrNode);
        _hash[RequestQueue.HashLong(cfqq.Key, CFQ_QHASH_SHIFT)].Remove(cfqq);
    }

    /// <summary>
    /// cfq_init_prio_data: after a priority change, take the class and level from the task: none
    /// set means best effort at the level its nice maps to; the idle class gets level 7 and no idling.
    /// </summary>
    private void InitPrioData(CfqQueue cfqq)
    {
        if (!cfqq.Has(CfqQueueFlags.PrioChanged))
        {
            return;
        }
        var tsk = Q.Submitter;
        switch (IoPrio.Class(tsk.IoPrio))
        {
            case IoprioClass.IOPRIO_CLASS_RT:
                cfqq.Ioprio = IoPrio.Data(tsk.IoPrio);
                cfqq.IoprioClass = IoprioClass.IOPRIO_CLASS_RT;
                break;
            case IoprioClass.IOPRIO_CLASS_BE:
                cfqq.Ioprio = IoPrio.Data(tsk.IoPrio);
                cfqq.IoprioClass = IoprioClass.IOPRIO_CLASS_BE;
                break;
            case IoprioClass.IOPRIO_CLASS_IDLE:
                cfqq.IoprioClass = IoprioClass.IOPRIO_CLASS_IDLE;
                cfqq.Ioprio = 7;
                cfqq.Clear(CfqQueueFlags.IdleWindow);
                break;
            default:
                if (IoPrio.Class(tsk.IoPrio) != IoprioClass.IOPRIO_CLASS_NONE)
                {
                    Q.Block.Printk($"cfq: bad prio {(int)IoPrio.Class(tsk.IoPrio):x}");
                }
                cfqq.Ioprio = IoPrio.TaskNiceIoprio(tsk);
                cfqq.IoprioClass = IoprioClass.IOPRIO_CLASS_BE;
                break;
        }
        cfqq.OrgIoprio = cfqq.Ioprio;
        cfqq.OrgIoprioClass = cfqq.IoprioClass;
        if (cfqq.Has(CfqQueueFlags.OnRr))
        {
            ResortRrList(cfqq, preempted: false);
        }
        cfqq.Clear(CfqQueueFlags.PrioChanged);
    }

    /// <summary>changed_ioprio: the task's async queue is swapped for the one of its new priority; its sync queue rereads the priority.</summary>
    private void ChangedIoprio(CfqIoContext cic)
    {
        if (cic.Cfqq[ASYNC] is { } oldAsync)
        {
            var fresh = GetQueue(CFQ_KEY_ASYNC, cic.Ioc.Task);
            cic.Cfqq[ASYNC] = fresh;
            PutQueue(oldAsync);
        }
        cic.Cfqq[SYNC]?.Mark(CfqQueueFlags.PrioChanged);
    }

    /// <summary>cfq_get_io_context: the task's cic for this queue, made and linked on first use; a pending ioprio change is applied on every CFQ queue it uses.</summary>
    private CfqIoContext GetIoContext(TaskStruct task)
    {
        var ioc = IoContext.Of(task);
        if (!ioc.Cics.TryGetValue(this, out var cic))
        {
            cic = new CfqIoContext(ioc, this, Jiffies);
            ioc.Cics.Add(this, cic);
            _cicList.Insert(0, cic);
        }
        if (ioc.IoprioChanged)
        {
            ioc.IoprioChanged = false;
            foreach (var other in ioc.Cics.Values.ToArray())
            {
                other.Cfqd?.ChangedIoprio(other);
            }
        }
        return cic;
    }

    /// <summary>__cfq_exit_single_io_context: the task is gone (or this elevator is): drop its references on its queues here.</summary>
    internal void ExitSingleIoContext(CfqIoContext cic)
    {
        _cicList.Remove(cic);
        cic.Cfqd = null;
        cic.Ioc.Cics.Remove(this);
        for (int i = ASYNC; i <= SYNC; i++)
        {
            if (cic.Cfqq[i] is { } cfqq)
            {
                if (cfqq == ActiveQueue)
                {
                    SliceExpired(cfqq, preempted: false);
                }
                PutQueue(cfqq);
                cic.Cfqq[i] = null;
            }
        }
    }

    /// <summary>cfq_update_io_thinktime: decaying mean of the time from a completion to the next request (capped at twice slice_idle).</summary>
    private void UpdateIoThinktime(CfqIoContext cic)
    {
        ulong elapsed = unchecked(Jiffies - cic.LastEndRequest);
        ulong ttime = Math.Min(elapsed, 2UL * SliceIdle);
        cic.TtimeSamples = (7 * cic.TtimeSamples + 256) / 8;
        cic.TtimeTotal = (7 * cic.TtimeTotal + 256 * ttime) / 8;
        cic.TtimeMean = (cic.TtimeTotal + 128) / cic.TtimeSamples;
    }

    /// <summary>cfq_update_io_seektime: decaying mean seek distance, an outlier capped near four times the mean.</summary>
    private static void UpdateIoSeektime(CfqIoContext cic, Request rq)
    {
        long sdist = Math.Abs(rq.Sector - cic.LastRequestPos);
        long cap = cic.SeekSamples <= 60 ? cic.SeekMean * 4 + 2 * 1024 * 1024 : cic.SeekMean * 4 + 2 * 1024 * 64;
        sdist = Math.Min(sdist, cap);
        cic.SeekSamples = (7 * cic.SeekSamples + 256) / 8;
        cic.SeekTotal = (7 * cic.SeekTotal + 256UL * (ulong)sdist) / 8;
        ulong total = cic.SeekTotal + cic.SeekSamples / 2;
        cic.SeekMean = (long)(total / cic.SeekSamples);
    }

    /// <summary>cfq_update_idle_window: no idling for an exited task, with slice_idle 0, for a seeky process on a queueing drive, or for one whose think time exceeds slice_idle.</summary>
    private void UpdateIdleWindow(CfqQueue cfqq, CfqIoContext cic)
    {
        bool enable = cfqq.Has(CfqQueueFlags.IdleWindow);
        if (cic.Ioc.Exited || SliceIdle == 0 || (HwTag && cic.Seeky))
        {
            enable = false;
        }
        else if (cic.TtimeSamples > 80)
        {
            enable = cic.TtimeMean <= SliceIdle;
        }
        if (enable)
        {
            cfqq.Mark(CfqQueueFlags.IdleWindow);
        }
        else
        {
            cfqq.Clear(CfqQueueFlags.IdleWindow);
        }
    }

    /// <summary>cfq_prio_boost: with no file system holding exclusive resources here (has_fs_excl is never true), a boosted queue returns to its own priority.</summary>
    private void PrioBoost(CfqQueue cfqq)
    {
        var cls = cfqq.IoprioClass;
        int prio = cfqq.Ioprio;
        cfqq.IoprioClass = cfqq.OrgIoprioClass;
        cfqq.Ioprio = cfqq.OrgIoprio;
        if ((cls != cfqq.IoprioClass || prio != cfqq.Ioprio) && cfqq.Has(CfqQueueFlags.OnRr))
        {
            ResortRrList(cfqq, preempted: false);
        }
    }
}

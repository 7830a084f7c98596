// Linux 2.6.20 block/cfq-iosched.c, the round-robin lists: where a busy queue waits (its
// best-effort level's list, busy_rr while it has requests out, cur_rr for real time, idle_rr for
// the idle class), and how the next queue is chosen: cur_rr first, refilled from the levels in
// widening rounds, then busy_rr, then the idle class after a quiet grace period.
using Kernel.Core;
using Kernel.Core.Time;

namespace Kernel.Block;

public sealed partial class CfqElevator
{
    /// <summary>
    /// cfq_resort_rr_list: refile a busy queue: real time on cur_rr, idle class on idle_rr, best
    /// effort on busy_rr while it has requests out (so it is not picked again before they finish)
    /// or else on its level's rr list. A preempted or new queue goes in "behind other new queues"
    /// as 2.6.20 writes it: before the last of the new queues at the front, or at the tail when
    /// the first queue is not new (list_add_tail on that position).
    /// </summary>
    private void ResortRrList(CfqQueue cfqq, bool preempted)
    {
        if (!cfqq.Has(CfqQueueFlags.OnRr))
        {
            throw new KernelBug($"cfq_resort_rr_list: {cfqq} is not on the rr lists");
        }
        cfqq.RrNode.List?.Remove(cfqq.RrNode);
        LinkedList<CfqQueue> list = cfqq.ClassRt ? _curRr
            : cfqq.ClassIdle ? _idleRr
            : cfqq.Dispatched != 0 ? _busyRr
            : _rrList[cfqq.Ioprio];
        if (preempted || cfqq.Has(CfqQueueFlags.QueueNew))
        {
            LinkedListNode<CfqQueue>? n = null; // null stands for the list head
            for (var next = list.First; next is not null && next.Value.Has(CfqQueueFlags.QueueNew); next = next.Next)
            {
                n = next;
            }
            if (n is not null)
            {
                list.AddBefore(n, cfqq.RrNode);
                return;
            }
        }
        list.AddLast(cfqq.RrNode);
    }

    /// <summary>cfq_add_cfqq_rr: the queue has requests now.</summary>
    private void AddCfqqRr(CfqQueue cfqq)
    {
        if (cfqq.Has(CfqQueueFlags.OnRr))
        {
            throw new KernelBug($"cfq_add_cfqq_rr: {cfqq} is already on the rr lists");
        }
        cfqq.Mark(CfqQueueFlags.OnRr);
        BusyQueues++;
        ResortRrList(cfqq, preempted: false);
    }

    /// <summary>cfq_del_cfqq_rr: the queue has no requests left.</summary>
    private void DelCfqqRr(CfqQueue cfqq)
    {
        if (!cfqq.Has(CfqQueueFlags.OnRr) || BusyQueues == 0)
        {
            throw new KernelBug($"cfq_del_cfqq_rr: {cfqq} is not on the rr lists");
        }
        cfqq.Clear(CfqQueueFlags.OnRr);
        cfqq.RrNode.List?.Remove(cfqq.RrNode);
        BusyQueues--;
    }

    /// <summary>
    /// cfq_get_next_prio_level: move the next non-empty best-effort list onto cur_rr, scanning
    /// levels cur_prio..cur_end_prio and widening the window by one level per round (0; 0,1;
    /// 0,1,2; ...), so a higher level is served more often than a lower one. -1 when all are empty.
    /// </summary>
    private int GetNextPrioLevel()
    {
        int prio = -1;
        bool wrap = false;
        while (true)
        {
            for (int p = _curPrio; p <= _curEndPrio; p++)
            {
                if (_rrList[p].Count != 0)
                {
                    prio = p;
                    break;
                }
            }
            if (prio != -1)
            {
                break;
            }
            _curPrio = 0;
            if (++_curEndPrio == CFQ_PRIO_LISTS)
            {
                _curEndPrio = 0;
                if (wrap)
                {
                    break;
                }
                wrap = true;
            }
        }
        if (prio == -1)
        {
            return -1;
        }
        // list_splice_init onto the empty cur_rr.
        var from = _rrList[prio];
        while (from.First is { } node)
        {
            from.Remove(node);
            _curRr.AddLast(node);
        }
        _curPrio = prio + 1;
        if (_curPrio > _curEndPrio)
        {
            _curEndPrio = _curPrio;
            _curPrio = 0;
        }
        if (_curEndPrio == CFQ_PRIO_LISTS)
        {
            _curPrio = 0;
            _curEndPrio = 0;
        }
        return prio;
    }

    /// <summary>cfq_set_active_queue: the next queue to serve: cur_rr (refilled from the levels), then busy_rr, then idle class after the grace period.</summary>
    private CfqQueue? SelectNewQueue()
    {
        CfqQueue? cfqq = null;
        if (_curRr.Count != 0 || GetNextPrioLevel() != -1)
        {
            cfqq = _curRr.First!.Value;
        }
        else if (_busyRr.Count != 0)
        {
            cfqq = _busyRr.First!.Value;
        }
        else if (_idleRr.Count != 0)
        {
            uint end = LastEndRequest + _idleGrace;
            if (Hz.TimeAfterEq(Jiffies, end))
            {
                cfqq = _idleRr.First!.Value;
            }
            else
            {
                _idleClassTimer.Mod(M, end);
            }
        }
        SetActive(cfqq);
        return cfqq;
    }
}

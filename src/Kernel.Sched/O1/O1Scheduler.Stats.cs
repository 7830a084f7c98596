// /proc/schedstat in the 2.6.20 format (SCHEDSTAT_VERSION 14) and the runqueue invariants.
using System.Globalization;
using System.Text;
using Kernel.Core.Tasks;

namespace Kernel.Sched.O1;

public sealed partial class O1Scheduler
{
    public const int SCHEDSTAT_VERSION = 14;

    public string FormatSchedstat(uint jiffies)
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"version {SCHEDSTAT_VERSION}\n");
        sb.Append(ci, $"timestamp {jiffies}\n");
        for (int cpu = 0; cpu < _rqs.Length; cpu++)
        {
            var rq = _rqs[cpu];
            sb.Append(ci, $"cpu{cpu} {rq.YldBothEmpty} {rq.YldActEmpty} {rq.YldExpEmpty} {rq.YldCnt} {rq.SchedSwitch} {rq.SchedCnt} {rq.SchedGoidle} {rq.TtwuCnt} {rq.TtwuLocal} {_p.NS_TO_JIFFIES(rq.RqCpuTimeNs)} {_p.NS_TO_JIFFIES(rq.RqRunDelayNs)} {rq.RqPcnt}\n");
            int dcnt = 0;
            for (var sd = rq.Sd; sd is not null; sd = sd.Parent)
            {
                sb.Append(ci, $"domain{dcnt++} {sd.Span}");
                for (int it = 0; it < 3; it++)
                {
                    sb.Append(ci, $" {sd.LbCnt[it]} {sd.LbBalanced[it]} {sd.LbFailed[it]} {sd.LbImbalance[it]} {sd.LbGained[it]} {sd.LbHotGained[it]} {sd.LbNobusyq[it]} {sd.LbNobusyg[it]}");
                }
                sb.Append(ci, $" {sd.AlbCnt} {sd.AlbFailed} {sd.AlbPushed} {sd.SbeCnt} {sd.SbeBalanced} {sd.SbePushed} {sd.SbfCnt} {sd.SbfBalanced} {sd.SbfPushed} {sd.TtwuWakeRemote} {sd.TtwuMoveAffine} {sd.TtwuMoveBalance}\n");
            }
        }
        return sb.ToString();
    }

    public IEnumerable<string> CheckInvariants()
    {
        for (int cpu = 0; cpu < _rqs.Length; cpu++)
        {
            var rq = _rqs[cpu];
            foreach (var s in rq.Active.CheckInvariants($"cpu{cpu}.active"))
            {
                yield return s;
            }
            foreach (var s in rq.Expired.CheckInvariants($"cpu{cpu}.expired"))
            {
                yield return s;
            }
            int queued = rq.Active.NrActive + rq.Expired.NrActive;
            if (queued != rq.NrRunning)
            {
                yield return $"cpu{cpu}: nr_running {rq.NrRunning} but {queued} tasks queued";
            }
            long weight = 0;
            foreach (var t in rq.Active.Tasks().Concat(rq.Expired.Tasks()))
            {
                weight += t.LoadWeight;
                if (t.Cpu != cpu)
                {
                    yield return $"cpu{cpu}: {t} queued here but task_cpu is {t.Cpu}";
                }
                if (!t.CpusAllowed.IsSet(cpu))
                {
                    yield return $"cpu{cpu}: {t} queued on a CPU outside its affinity {t.CpusAllowed}";
                }
                if (t.State != TaskState.TASK_RUNNING && !t.IsIdleTask)
                {
                    // Only a task preempted in the middle of going to sleep may be queued non-running.
                    if (_m.Cpus[cpu].Curr != t)
                    {
                        yield return $"cpu{cpu}: {t} is queued but in state {t.State}";
                    }
                }
            }
            if (weight != rq.RawWeightedLoad)
            {
                yield return $"cpu{cpu}: raw_weighted_load {rq.RawWeightedLoad} but queued weights sum to {weight}";
            }
            var curr = _m.Cpus[cpu].Curr;
            if (curr != rq.Idle)
            {
                if (!curr.CpusAllowed.IsSet(cpu))
                {
                    yield return $"cpu{cpu}: running {curr} outside its affinity {curr.CpusAllowed}";
                }
                if (curr.Cpu != cpu)
                {
                    yield return $"cpu{cpu}: running {curr} whose task_cpu is {curr.Cpu}";
                }
                if (curr.Array is null && curr.ExitState == 0 && curr.State == TaskState.TASK_RUNNING)
                {
                    yield return $"cpu{cpu}: running {curr} is runnable but on no array";
                }
            }
        }
    }
}

// Linux 2.6.20 block/as-iosched.c, the anticipation heuristics: per-process think time and seek
// distance (decaying means in fixed point), whether a new request is close enough to the head to
// end anticipation, whether anticipating is worth it at all, and the write batch's auto-tuning.
using Kernel.Core.Time;

namespace Kernel.Block;

public sealed partial class AnticipatoryElevator
{
    private void UpdateThinktime(AsIoContext aic, ulong ttime)
    {
        if (aic.TtimeSamples == 0)
        {
            _newTtimeTotal = (7 * _newTtimeTotal + 256 * ttime) / 8;
            NewTtimeMean = _newTtimeTotal / 256;
            ExitProb = 7 * ExitProb / 8;
        }
        aic.TtimeSamples = (7 * aic.TtimeSamples + 256) / 8;
        aic.TtimeTotal = (7 * aic.TtimeTotal + 256 * ttime) / 8;
        aic.TtimeMean = (aic.TtimeTotal + 128) / aic.TtimeSamples;
    }

    private void UpdateSeekdist(AsIoContext aic, long sdist)
    {
        if (aic.SeekSamples == 0)
        {
            _newSeekTotal = (7 * _newSeekTotal + 256 * (ulong)sdist) / 8;
            NewSeekMean = (long)(_newSeekTotal / 256);
        }
        // The odd far fragment must not swamp the mean.
        sdist = aic.SeekSamples <= 60 ? Math.Min(sdist, aic.SeekMean * 4 + 2 * 1024 * 1024) : Math.Min(sdist, aic.SeekMean * 4 + 2 * 1024 * 64);
        aic.SeekSamples = (7 * aic.SeekSamples + 256) / 8;
        aic.SeekTotal = (7 * aic.SeekTotal + 256 * (ulong)sdist) / 8;
        ulong total = aic.SeekTotal + aic.SeekSamples / 2;
        aic.SeekMean = (long)(total / aic.SeekSamples);
    }

    /// <summary>as_update_iohist: a new sync request updates its process's think time and seek distance.</summary>
    private void UpdateIohist(AsIoContext? aic, Request rq)
    {
        if (aic is null || IsSync(rq) != REQ_SYNC)
        {
            return;
        }
        int inFlight = aic.NrQueued + aic.NrDispatched;
        if (aic.IoRunning || aic.IoStarted)
        {
            ulong thinktime = 0;
            if (aic.IoRunning && inFlight == 0)
            {
                thinktime = Math.Min(unchecked(Jiffies - aic.LastEndRequest), _maxThinktime - 1);
            }
            UpdateThinktime(aic, thinktime);
            UpdateSeekdist(aic, Math.Abs(rq.Sector - aic.LastRequestPos));
        }
        aic.LastRequestPos = rq.Sector + rq.NrSectors;
        aic.IoStarted = true;
    }

    /// <summary>as_close_req: whether `rq` is near enough the head to be worth serving instead of waiting.</summary>
    private bool CloseReq(AsIoContext aic, Request rq)
    {
        long last = _lastSector[BatchDataDir];
        long next = rq.Sector;
        ulong delay = AnticStatus == AnticStatus.Off || !_iocFinished ? 0 : unchecked(Jiffies - _anticStart) * 1000UL / (ulong)Q.Machine.Hz.Value;
        long delta;
        if (delay == 0)
        {
            delta = 8192;
        }
        else if (delay <= 20 && delay <= AnticExpire)
        {
            delta = 8192L << (int)delay;
        }
        else
        {
            return true;
        }
        if (last <= next + (delta >> 1) && next <= last + delta)
        {
            return true;
        }
        long s = Math.Abs(next - last);
        return aic.SeekSamples == 0 ? NewSeekMean > s : aic.SeekMean > s;
    }

    /// <summary>as_can_break_anticipation: `rq` (or the state of the awaited process) ends the wait.</summary>
    private bool CanBreakAnticipation(Request? rq)
    {
        var ioc = _ioContext!;
        if (rq is not null && ioc == RqIoc(rq))
        {
            return true; // the process we waited for
        }
        if (_iocFinished && AnticExpired())
        {
            return true; // the timer has not run yet
        }
        if (ioc.Aic is not { } aic)
        {
            return false;
        }
        if (aic.NrQueued > 0 || aic.NrDispatched > 0)
        {
            return true;
        }
        if (rq is not null && IsSync(rq) == REQ_SYNC && CloseReq(aic, rq))
        {
            // A close request from a cooperating process updates the awaited one's history.
            if (!aic.Running)
            {
                if (aic.TtimeSamples == 0)
                {
                    ExitProb = (7 * ExitProb + 256) / 8;
                }
                ExitNoCoop = 7 * ExitNoCoop / 8;
            }
            UpdateIohist(aic, rq);
            return true;
        }
        if (!aic.Running)
        {
            if (aic.TtimeSamples == 0)
            {
                ExitProb = (7 * ExitProb + 256) / 8;
            }
            if (ExitNoCoop > 128)
            {
                return true;
            }
        }
        if (aic.TtimeSamples == 0)
        {
            if (NewTtimeMean > AnticExpire || ExitProb * ExitNoCoop > 128 * 256)
            {
                return true;
            }
        }
        else if (aic.TtimeMean > AnticExpire)
        {
            return true; // it thinks too long between requests
        }
        return false;
    }

    private bool CanAnticipate(Request? rq) =>
        _ioContext is not null && AnticStatus != AnticStatus.Finished && !CanBreakAnticipation(rq);

    /// <summary>as_update_rq: keep next_rq current and see whether the new request is the one awaited.</summary>
    private void UpdateRq(Request rq)
    {
        int dir = IsSync(rq);
        _nextRq[dir] = ChooseReq(rq, _nextRq[dir]);
        if (AnticStatus is AnticStatus.WaitReq or AnticStatus.WaitNext && CanBreakAnticipation(rq))
        {
            if (RqIoc(rq) == _ioContext)
            {
                AnticipationHits++;
            }
            AnticStop();
        }
    }

    /// <summary>update_write_batch: grow or shrink the write batch toward write_batch_expire.</summary>
    private void UpdateWriteBatch()
    {
        long batch = _batchExpire[REQ_ASYNC];
        long writeTime = Math.Max(0, (int)(Jiffies - _currentBatchExpires) + batch);
        if (writeTime > batch && !_writeBatchIdled)
        {
            WriteBatchCount = writeTime > batch * 3 ? WriteBatchCount / 2 : WriteBatchCount - 1;
        }
        else if (writeTime < batch && _currentWriteCount == 0)
        {
            WriteBatchCount = batch > writeTime * 3 ? WriteBatchCount * 2 : WriteBatchCount + 1;
        }
        WriteBatchCount = Math.Max(1, WriteBatchCount);
    }
}

// The choice between two requests that as-iosched.c's as_choose_req and cfq-iosched.c's
// cfq_choose_req share (CFQ's is "lifted from AS"): the scheduler is a one-way elevator except
// that a short seek backwards is allowed at a penalty. A request at or ahead of the head costs its
// distance; one behind by at most `backMax` sectors costs `backPenalty` times its distance; one
// farther behind "wraps" (the sweep comes round to it later). The cheaper wins, the higher sector
// on a tie; a request that wraps loses to one that does not; of two that wrap, the one further
// back wins, so that only one back seek is needed.
namespace Kernel.Block;

internal static class SeekChoice
{
    public static Request Choose(Request rq1, Request rq2, long last, long backMax, long backPenalty)
    {
        long s1 = rq1.Sector, s2 = rq2.Sector;
        bool wrap1 = Cost(s1, last, backMax, backPenalty, out long d1);
        bool wrap2 = Cost(s2, last, backMax, backPenalty, out long d2);
        if (!wrap1 && !wrap2)
        {
            if (d1 != d2)
            {
                return d1 < d2 ? rq1 : rq2;
            }
            return s1 >= s2 ? rq1 : rq2;
        }
        if (!wrap1)
        {
            return rq1;
        }
        if (!wrap2)
        {
            return rq2;
        }
        return s1 <= s2 ? rq1 : rq2;
    }

    /// <summary>The cost of going from `last` to `sector`; true when it is too far behind (a wrap).</summary>
    private static bool Cost(long sector, long last, long backMax, long backPenalty, out long d)
    {
        d = 0;
        if (sector >= last)
        {
            d = sector - last;
            return false;
        }
        if (sector + backMax >= last)
        {
            d = (last - sector) * backPenalty;
            return false;
        }
        return true;
    }
}

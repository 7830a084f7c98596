// Linux 2.6.20 mm/memory.c make_pages_present (over get_user_pages): fault in every page of a
// range, for mlock, MAP_POPULATE of private areas and mremap of a locked area. A fault that must
// sleep stops the walk; the rest is queued for the syscall's slow path, which sleeps for the
// fault's wait and resumes the walk (ResumePopulate) before the syscall returns, so the syscall
// ends with the pages present as Linux's would.
namespace Kernel.Mm.Memory;

public sealed partial class MmStruct
{
    private List<(long Start, long End, bool Write)>? _populateQueue;

    /// <summary>
    /// make_pages_present: fault in every page of a range. A fault that must sleep stops it; the
    /// rest of the range (and any range after it in the same syscall) is queued for the syscall's
    /// slow path, which sleeps and resumes it (ResumePopulate) before the syscall returns.
    /// </summary>
    internal void MakePagesPresent(long start, long end, bool write)
    {
        if (_populateQueue is { Count: > 0 })
        {
            _populateQueue.Add((start, end, write));
            return;
        }
        for (long a = start; a < end; a += MemoryLayout.PAGE_SIZE)
        {
            if (Translate(a, write) >= 0)
            {
                continue;
            }
            var r = HandleFault(a, write);
            if (r == FaultResult.Retry)
            {
                (_populateQueue ??= new()).Add((a, end, write));
                return;
            }
            if (r != FaultResult.Minor)
            {
                return;
            }
        }
    }

    /// <summary>Whether a make_pages_present stopped to sleep and waits to be resumed.</summary>
    public bool PopulatePending => _populateQueue is { Count: > 0 };

    /// <summary>Resume the queued make_pages_present ranges (after the sleep they stopped for).</summary>
    public void ResumePopulate()
    {
        if (_populateQueue is not { Count: > 0 } queue)
        {
            return;
        }
        var ranges = queue.ToArray();
        queue.Clear();
        foreach (var (start, end, write) in ranges)
        {
            MakePagesPresent(start, end, write);
        }
    }

    /// <summary>Forget queued populate work (the syscall gave up on it).</summary>
    public void CancelPopulate() => _populateQueue?.Clear();
}

// /sys/block/DEV for an attached disk (2.6.20 block/genhd.c disk attributes and ll_rw_blk.c
// queue attributes): stat, size, and queue/ with scheduler (elv_iosched_show/store),
// nr_requests, max_sectors_kb, max_hw_sectors_kb and the current elevator's iosched/ tunables,
// which are replaced when the elevator is switched.
using System.Globalization;
using Kernel.Core;
using Kernel.Core.Proc;

namespace Kernel.Block;

internal static class BlockSysfs
{
    private static readonly string[] Files = ["stat", "size", "dev", "queue/scheduler", "queue/nr_requests", "queue/max_sectors_kb", "queue/max_hw_sectors_kb"];

    /// <summary>Register /sys/block/NAME; the returned action removes every file again (del_gendisk).</summary>
    public static Action Register(BlockLayer block, Gendisk disk)
    {
        var proc = block.Machine.ProcFiles;
        var q = disk.Queue;
        string dir = $"/sys/block/{disk.Name}";
        proc.Register($"{dir}/stat", disk.SysStat);
        proc.Register($"{dir}/size", () => string.Create(CultureInfo.InvariantCulture, $"{disk.Capacity}\n"));
        proc.Register($"{dir}/dev", () => string.Create(CultureInfo.InvariantCulture, $"{disk.Major}:{disk.FirstMinor}\n"));
        proc.Register($"{dir}/queue/scheduler", q.ElvIoschedShow, q.ElevatorSwitch);
        proc.RegisterInt($"{dir}/queue/nr_requests", () => q.NrRequests, v =>
        {
            q.SetNrRequests((int)v);
            return 0;
        }, RequestQueue.BLKDEV_MIN_RQ, int.MaxValue);
        proc.Register($"{dir}/queue/max_sectors_kb", () => string.Create(CultureInfo.InvariantCulture, $"{q.MaxSectors >> 1}\n"), text =>
            ProcRegistry.TryParseInts(text, out var v) && v.Length == 1 ? q.StoreMaxSectorsKb(v[0]) : Errno.EINVAL.Ret());
        proc.Register($"{dir}/queue/max_hw_sectors_kb", () => string.Create(CultureInfo.InvariantCulture, $"{q.MaxHwSectors >> 1}\n"));
        var registered = new List<string>();
        void Iosched(RequestQueue rq)
        {
            foreach (var path in registered)
            {
                proc.Unregister(path);
            }
            registered.Clear();
            foreach (var a in rq.Elevator.Attributes)
            {
                string path = $"{dir}/queue/iosched/{a.Name}";
                if (a.Store is { } store)
                {
                    proc.Register(path, a.Show, text => store(text));
                }
                else
                {
                    proc.Register(path, a.Show);
                }
                registered.Add(path);
            }
        }
        Iosched(q);
        q.ElevatorChanged += Iosched;
        return () =>
        {
            q.ElevatorChanged -= Iosched;
            foreach (var path in registered.Concat(Files.Select(f => $"{dir}/{f}")))
            {
                proc.Unregister(path);
            }
        };
    }
}

// hackbench (Rusty Russell's scheduler benchmark, the one OSDL ran on 2.6.0 against 2.4): groups
// of senders and receivers; every receiver owns a pipe, every sender writes `Loops` messages into
// each receiver's pipe of its group, every receiver reads all it is owed. Processes by default,
// threads of one process with Mode = Thread (hackbench's -threads). As in hackbench.c, the
// parent makes every group first, then waits for all; unlike it there is no start barrier, so a
// group's senders may start while later groups are still being made.
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Syscalls;

namespace Kernel.Lab.Experiments;

public sealed record HackbenchOptions : MessagingOptions
{
    public int Groups { get; init; } = 10;

    /// <summary>Messages each sender writes to each receiver (hackbench's default is 100).</summary>
    public int Loops { get; init; } = 100;

    /// <summary>Senders per group, and receivers per group (hackbench uses 20 of each).</summary>
    public int PerGroup { get; init; } = 20;

    public long ExpectedMessages => (long)Groups * PerGroup * PerGroup * Loops;
}

public static class Hackbench
{
    public static MessagingResult Run(HackbenchOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Groups, nameof(o.Groups));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Loops, nameof(o.Loops));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.PerGroup, nameof(o.PerGroup));
        return Messaging.Run(o, fds: o.Groups * o.PerGroup * 2, o.ExpectedMessages, tally => self => Body(self, o, tally));
    }

    private static async ValueTask Body(UserTask self, HackbenchOptions o, MessagingTally tally)
    {
        // The fd pair slot, and the receive and send buffers (separate pages; contents unread).
        long mem = Workers.Check(await self.Mmap(0, 3 * MemoryLayout.PAGE_SIZE, Prot.PROT_READ | Prot.PROT_WRITE,
            MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS), "mmap");
        long fds = mem, recvBuf = mem + MemoryLayout.PAGE_SIZE, sendBuf = mem + 2 * MemoryLayout.PAGE_SIZE;
        var workers = await Workers.Create(self, o.Mode, o.Groups * o.PerGroup * 2, o.StartBarrier);
        long owed = (long)o.PerGroup * o.Loops * o.MessageSize;
        for (int g = 0; g < o.Groups; g++)
        {
            var ends = new List<int>();
            var writeEnds = new int[o.PerGroup];
            for (int r = 0; r < o.PerGroup; r++)
            {
                var (rd, wr) = await workers.Pipe(fds);
                writeEnds[r] = wr;
                ends.Add(rd);
                ends.Add(wr);
                await workers.Start(c => Receive(c, rd, recvBuf, o.MessageSize, owed, tally));
            }
            for (int s = 0; s < o.PerGroup; s++)
            {
                await workers.Start(async c =>
                {
                    for (int l = 0; l < o.Loops; l++)
                    {
                        foreach (int w in writeEnds)
                        {
                            Workers.Check(await c.Write(w, sendBuf, o.MessageSize), "write");
                        }
                    }
                    tally.Retire(c);
                });
            }
            await workers.CloseInParent(ends); // as hackbench's parent closes its ends once the group runs
        }
        await workers.WaitAll(tally);
    }

    /// <summary>A receiver: read `owed` bytes in message-sized reads, counting messages as they arrive.</summary>
    internal static async ValueTask Receive(UserTask c, int fd, long buf, int size, long owed, MessagingTally tally)
    {
        long got = 0;
        while (got < owed)
        {
            long n = await c.Read(fd, buf, size);
            if (n <= 0)
            {
                throw new InvalidOperationException($"a receiver's read returned {n} with {owed - got} bytes owed");
            }
            got += n;
            tally.Messages += n / size;
        }
        tally.Retire(c);
    }
}

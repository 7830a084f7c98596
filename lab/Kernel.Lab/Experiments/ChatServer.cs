// A chat-server benchmark in the shape of the one Robert Love's seed quotes (Table 3, messages per
// second between many tasks): rooms of clients; each client has a sender that writes `Messages`
// messages to the server, and a receiver that reads everything said in its room. The server has
// one handler per connection (the thread-per-connection design of the Java chat servers of 2003)
// that reads its client's messages and writes each to every receiver of the room. Three pipes'
// worth of hops per message, and bursts of fan-out wake-ups where hackbench has none.
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Syscalls;

namespace Kernel.Lab.Experiments;

public sealed record ChatServerOptions : MessagingOptions
{
    /// <summary>Threads by default: the chat servers of the seed's day ran a thread per connection.</summary>
    public ChatServerOptions() => Mode = MessagingMode.Thread;

    public int Rooms { get; init; } = 4;

    public int ClientsPerRoom { get; init; } = 20;

    /// <summary>Messages each client says; each is delivered to every client of its room, itself included.</summary>
    public int Messages { get; init; } = 100;

    public long ExpectedMessages => (long)Rooms * ClientsPerRoom * ClientsPerRoom * Messages;
}

public static class ChatServer
{
    public static MessagingResult Run(ChatServerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Rooms, nameof(o.Rooms));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.ClientsPerRoom, nameof(o.ClientsPerRoom));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Messages, nameof(o.Messages));
        return Messaging.Run(o, fds: o.Rooms * o.ClientsPerRoom * 4, o.ExpectedMessages, tally => self => Body(self, o, tally));
    }

    private static async ValueTask Body(UserTask self, ChatServerOptions o, MessagingTally tally)
    {
        long mem = Workers.Check(await self.Mmap(0, 4 * MemoryLayout.PAGE_SIZE, Prot.PROT_READ | Prot.PROT_WRITE,
            MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS), "mmap");
        long fds = mem, recvBuf = mem + MemoryLayout.PAGE_SIZE, sendBuf = mem + 2 * MemoryLayout.PAGE_SIZE,
            relayBuf = mem + 3 * MemoryLayout.PAGE_SIZE;
        int n = o.ClientsPerRoom, size = o.MessageSize;
        var workers = await Workers.Create(self, o.Mode, o.Rooms * n * 3, o.StartBarrier);
        long owedToReceiver = (long)n * o.Messages * size, owedToHandler = (long)o.Messages * size;
        for (int room = 0; room < o.Rooms; room++)
        {
            var ends = new List<int>();
            var down = new int[n];
            for (int c = 0; c < n; c++)
            {
                var (rd, wr) = await workers.Pipe(fds);
                down[c] = wr;
                ends.Add(rd);
                ends.Add(wr);
                await workers.Start(t => Hackbench.Receive(t, rd, recvBuf, size, owedToReceiver, tally));
            }
            for (int c = 0; c < n; c++)
            {
                var (rd, wr) = await workers.Pipe(fds);
                ends.Add(rd);
                ends.Add(wr);
                await workers.Start(async t => // the server's handler for this connection
                {
                    long got = 0;
                    while (got < owedToHandler)
                    {
                        long r = await t.Read(rd, relayBuf, size);
                        if (r != size)
                        {
                            throw new InvalidOperationException($"a handler's read returned {r}, not one {size}-byte message");
                        }
                        got += r;
                        foreach (int w in down)
                        {
                            Workers.Check(await t.Write(w, relayBuf, size), "write");
                        }
                    }
                    tally.Retire(t);
                });
                await workers.Start(async t => // the client's sender
                {
                    for (int m = 0; m < o.Messages; m++)
                    {
                        Workers.Check(await t.Write(wr, sendBuf, size), "write");
                    }
                    tally.Retire(t);
                });
            }
            await workers.CloseInParent(ends);
        }
        await workers.WaitAll(tally);
    }
}

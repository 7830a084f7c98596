#:project ../../src/Kernel/Kernel.csproj
#:property TreatWarningsAsErrors=false
// Experiment: hackbench (Rusty Russell's scheduler benchmark, the one OSDL ran on 2.6.0 against
// 2.4): groups of 20 senders and 20 receivers; every sender writes `loops` 100-byte messages
// into each receiver's pipe, every receiver reads all it is owed. The run is over when every
// receiver has its messages; the figure is messages per simulated second.
// Run with: dotnet run docs/lessons/hackbench.cs   (CI adds -- --short: fewer groups and loops)
//
// What to look at: the 2.4 goodness scheduler walks its one runqueue on every schedule(), so its
// cost grows with the number of runnable tasks (40 per group); the O(1) scheduler's does not.
// Try next: more CPUs, or Preempt = PreemptModel.Full, and watch which columns move.
using System.Diagnostics;
using Kernel;
using Kernel.Mm.Memory;
using Kernel.Sched;
using Kernel.Syscalls;

bool quick = args.Contains("--short");
int[] groupCounts = quick ? new[] { 1, 2 } : new[] { 1, 5, 10, 20 };
int loops = quick ? 5 : 20;
const int PerGroup = 20, MessageSize = 100;

Console.WriteLine($"hackbench: {PerGroup} senders and {PerGroup} receivers per group, {loops} loops, {MessageSize}-byte messages");
Console.WriteLine("scheduler   cpus  groups  messages  simulated ms  msgs per sim s  host ms");
foreach (var sched in new[] { SchedulerKind.O1, SchedulerKind.Goodness24 })
{
    foreach (int cpus in new[] { 1, 4 })
    {
        foreach (int groups in groupCounts)
        {
            var k = LinuxKernel.Boot(new KernelOptions { Cpus = cpus, Hz = 1000, Scheduler = sched });
            long received = 0;
            var root = k.Spawn("hackbench", async self =>
            {
                long mem = await self.Mmap(0, 1 << 20, Prot.PROT_READ | Prot.PROT_WRITE, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
                var children = new List<long>();
                for (int g = 0; g < groups; g++)
                {
                    var writeEnds = new int[PerGroup];
                    for (int r = 0; r < PerGroup; r++)
                    {
                        long fds = mem + 8 * r;
                        if (await self.Pipe(fds) < 0)
                        {
                            throw new InvalidOperationException("pipe failed");
                        }
                        int rd = await self.Load<int>(fds);
                        writeEnds[r] = await self.Load<int>(fds + 4);
                        children.Add(await self.Fork(async c =>
                        {
                            long buf = mem + 4096;
                            long want = (long)PerGroup * loops * MessageSize, got = 0;
                            while (got < want)
                            {
                                long n = await c.Read(rd, buf, MessageSize);
                                if (n <= 0)
                                {
                                    break;
                                }
                                got += n;
                            }
                            received += got / MessageSize;
                        }));
                        await self.Close(rd);
                    }
                    for (int s = 0; s < PerGroup; s++)
                    {
                        children.Add(await self.Fork(async c =>
                        {
                            long buf = mem + 8192;
                            for (int l = 0; l < loops; l++)
                            {
                                foreach (int w in writeEnds)
                                {
                                    await c.Write(w, buf, MessageSize);
                                }
                            }
                        }));
                    }
                    foreach (int w in writeEnds)
                    {
                        await self.Close(w);
                    }
                }
                foreach (var c in children)
                {
                    await self.Wait4((int)c);
                }
            });
            var sw = Stopwatch.StartNew();
            long t0 = k.Machine.Now;
            k.RunUntilIdle();
            sw.Stop();
            double simMs = (k.Machine.Now - t0) / 1e6;
            long expected = (long)groups * PerGroup * PerGroup * loops;
            Console.WriteLine($"{sched,-10}  {cpus,4}  {groups,6}  {received,8}  {simMs,12:0.0}  {received / (simMs / 1000),14:0}  {sw.ElapsedMilliseconds,7}");
            if (received != expected || root.ExitCode != 0)
            {
                Console.Error.WriteLine($"received {received} of {expected}");
                return 1;
            }
        }
    }
}
return 0;

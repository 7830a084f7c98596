#:project ../../src/Kernel.Nptl/Kernel.Nptl.csproj
#:property TreatWarningsAsErrors=false
// Lesson and experiment: the NPTL paper's thread test (Drepper and Molnar, "The Native POSIX
// Thread Library for Linux", 2003): create and destroy 100,000 threads, with 1, 5 and 10 threads
// running in parallel per creator. Each thread is a clone with glibc's flags; each join sleeps on
// the tid word that the kernel zeroes and wakes at the thread's exit (CLONE_CHILD_CLEARTID).
// Run with: dotnet run docs/lessons/nptl-threads.cs   (CI adds -- --short: 10,000 threads)
//
// What to look at: simulated time grows with the work the kernel does per thread (clone, the
// first schedule, exit, the futex wake, the join's wait), not with how many exist at once; more
// parallel threads let a second CPU take some of them. Try next: Cpus = 1 against 4, or give each
// thread some Compute and watch the parallel columns pull apart.
using System.Diagnostics;
using Kernel;
using Kernel.Nptl;

int total = args.Contains("--short") ? 10_000 : 100_000;
Console.WriteLine($"{total:N0} threads created, run and joined");
Console.WriteLine("cpus  parallel  simulated ms  host ms  futex calls");
foreach (int cpus in new[] { 1, 4 })
{
    foreach (int parallel in new[] { 1, 5, 10 })
    {
        var k = LinuxKernel.Boot(new KernelOptions { Cpus = cpus, Hz = 1000 });
        long futexCalls = 0, joined = 0;
        var creator = k.Spawn("creator", async self =>
        {
            var heap = await UserHeap.Create(self);
            var batch = new List<PthreadT>(parallel);
            while (joined < total)
            {
                for (int i = 0; i < parallel; i++)
                {
                    batch.Add(await Pthread.Create(self, heap, static _ => ValueTask.CompletedTask));
                }
                foreach (var t in batch)
                {
                    await Pthread.Join(self, t);
                    joined++;
                }
                batch.Clear();
            }
            futexCalls = self.FutexCalls;
        });
        var sw = Stopwatch.StartNew();
        long t0 = k.Machine.Now;
        k.RunUntilIdle();
        sw.Stop();
        Console.WriteLine($"{cpus,4}  {parallel,8}  {(k.Machine.Now - t0) / 1e6,12:0.0}  {sw.Elapsed.TotalMilliseconds,7:0}  {futexCalls,11:N0}");
        if (joined != total || creator.ExitCode != 0)
        {
            Console.Error.WriteLine($"only {joined} joined");
            return 1;
        }
    }
}
return 0;

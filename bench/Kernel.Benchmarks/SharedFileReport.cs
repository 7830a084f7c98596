// The seeds' scenario at full size: 500 processes each map the same file and touch every page,
// on an x86_64 machine (an i386 machine cannot hold the page tables in lowmem, which is the
// seeds' point). For each rmap mode: the emulated memory of the reverse map and of the page
// tables, and the PTEs visited to find every mapping of one page.
using System.Diagnostics;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Rmap;

namespace Kernel.Benchmarks;

public static class SharedFileReport
{
    public static void Run(int fileMiB, TextWriter output)
    {
        const int procs = 500;
        long filePages = fileMiB * 256L;
        foreach (var mode in new[] { RmapMode.ObjRmap, RmapMode.PteChain, RmapMode.None })
        {
            var sw = Stopwatch.StartNew();
            var k = LinuxKernel.Boot(new KernelOptions
            {
                Cpus = 1,
                PidMax = 4096,
                Costs = CostTable.Free,
                Memory = new MemoryOptions { MemoryBytes = (fileMiB * 4L + 2048) << 20, Arch = Architecture.Flat64, Rmap = mode },
            });
            k.Spawn("parent", async self =>
            {
                int fd = (int)await self.Open("/shared", Kernel.Mm.Filemap.OpenFlags.O_CREAT | Kernel.Mm.Filemap.OpenFlags.O_RDWR);
                await self.Ftruncate(fd, filePages * 4096);
                for (int i = 0; i < procs; i++)
                {
                    await self.Fork(async c =>
                    {
                        long a = await c.Mmap(0, filePages * 4096, 1, 1, fd);
                        await c.Touch(a, filePages * 4096, write: false);
                        await c.Pause();
                    });
                }
                await self.Pause();
            });
            k.Run(3_600_000_000_000L);
            var mm = k.Memory;
            int pfn = mm.Shmem.Names["/shared"].Mapping.PageTree[0];
            long mappings = procs * filePages;
            long rmapBytes = mm.Rmap.PteChainCachep.InUseObjs * mm.Rmap.SizeofPteChain + mm.Rmap.AnonVmaCachep.InUseObjs * ReverseMap.SizeofAnonVma;
            var t = Stopwatch.StartNew();
            var r = mm.Rmap.FindPtes(pfn);
            t.Stop();
            output.WriteLine($"{mode,-9} file {fileMiB} MiB x {procs} processes = {mappings:N0} mappings | rmap memory {rmapBytes / 1048576.0:N1} MiB ({(double)rmapBytes / mappings:0.00} B/mapping) | page tables {mm.PageTablePages * 4 / 1024.0:N1} MiB | unmap one page: {r.Ptes.Count} PTEs found, {r.PtesVisited:N0} visited, {r.PtesVisited * Kernel.Mm.MmCosts.Default.RmapPteNs / 1000.0:N1} us simulated at the default cost, {t.Elapsed.TotalMilliseconds:N1} ms host | setup {sw.Elapsed.TotalSeconds:N0} s");
            k.Dispose();
            GC.Collect();
        }
    }
}

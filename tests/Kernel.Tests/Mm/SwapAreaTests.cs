using FluentAssertions;
using Kernel.Block;
using Kernel.Block.Drivers;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Swap;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>swapon and swapoff (mm/swapfile.c): the header's checks, priorities, /proc/swaps and the totals.</summary>
[Parallelizable(ParallelScope.All)]
public class SwapAreaTests
{
    private static readonly string[] BadDevices = ["sdb", "sdc", "sdd", "sde", "sdf", "sdg"];

    private static LinuxKernel Boot(params (string Name, long Pages, byte[]? Header)[] disks)
    {
        var k = KernelBuilder.New().BootForHostCalls();
        foreach (var (name, pages, header) in disks)
        {
            var store = new MemoryBlockStore(pages * MemoryLayout.PAGE_SIZE);
            if (header is not null)
            {
                store.Write(0, header);
            }
            k.Block.AttachDisk(name, new SsdDisk(), store);
        }
        return k;
    }

    private static List<long> Calls(LinuxKernel k, Func<Kernel.Syscalls.UserTask, List<long>, ValueTask> body, int uid = 0)
    {
        var results = new List<long>();
        var t = k.Spawn("swapctl", async self =>
        {
            await body(self, results);
            await self.Exit(0);
        }, new LinuxKernel.SpawnOptions { Uid = uid });
        k.RunUntilExit(t, 10_000_000_000).Should().BeTrue();
        k.AssertInvariants();
        return results;
    }

    [Test]
    public void SwaponEnablesAnAreaAndSwapoffTakesItAway()
    {
        var k = Boot(("sdb", 4096, SwapHeader.Make(4096)), ("sdc", 2048, SwapHeader.Make(2048)));
        var r = Calls(k, async (self, res) =>
        {
            res.Add(await self.Swapon("/dev/sdb"));
            res.Add(await self.Swapon("/dev/sdc", SwapAreas.SWAP_FLAG_PREFER | 5));
            res.Add(await self.Swapon("/dev/sdb"));
        });
        r.Should().Equal(0L, 0L, Errno.EBUSY.Ret());
        k.Proc.Read("/proc/swaps").Should().Be(
            "Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n" +
            "/dev/sdb                                partition\t16376\t0\t-1\n" +
            "/dev/sdc                                partition\t8184\t0\t5\n");
        k.Memory.Swap.Areas.Select(a => a.Name).Should().Equal(["/dev/sdc", "/dev/sdb"], "the higher priority is used first");
        k.Memory.Swap.Log.Should().Contain("Adding 16376k swap on /dev/sdb.  Priority:-1 extents:1 across:16380k");
        k.Proc.Read("/proc/meminfo").Should().Contain($"SwapTotal:       {16376 + 8184} kB").And.Contain($"SwapFree:        {16376 + 8184} kB");
        long limit = k.Memory.Overcommit.CommitLimitPages;
        ((Action)(() => k.Block.DetachDisk("sdb"))).Should().Throw<InvalidOperationException>().WithMessage("*swap area*");
        Calls(k, async (self, res) =>
        {
            res.Add(await self.Swapoff("/dev/sdb"));
            res.Add(await self.Swapoff("/dev/sdb"));
        }).Should().Equal(0L, Errno.EINVAL.Ret());
        k.Memory.Overcommit.CommitLimitPages.Should().Be(limit - 4094, "CommitLimit counts swap");
        k.Memory.Swap.TotalSwapPages.Should().Be(2046);
    }

    [Test]
    public void BadAreasAreRefusedWithLinuxsErrorsAndNothingIsEnabled()
    {
        var k = Boot(
            ("sdb", 1024, null),
            ("sdc", 1024, SwapHeader.Make(4096)),
            ("sdd", 1024, SwapHeader.Make(1024, magic: SwapHeader.OldMagic)),
            ("sde", 1024, SwapHeader.Make(1024, version: 2)),
            ("sdf", 1024, SwapHeader.Make(1)),
            ("sdg", 1024, SwapHeader.Make(1024, badPages: [5000])));
        var r = Calls(k, async (self, res) =>
        {
            foreach (var dev in BadDevices)
            {
                res.Add(await self.Swapon($"/dev/{dev}"));
            }
            res.Add(await self.Swapon("/dev/nonesuch"));
            int fd = (int)await self.Open("/tmpswap", OpenFlags.O_CREAT | OpenFlags.O_RDWR);
            await self.Close(fd);
            res.Add(await self.Swapon("/tmpswap"));
            res.Add(await self.Swapoff("/dev/sdb"));
        });
        r.Should().Equal(Errno.EINVAL.Ret(), Errno.EINVAL.Ret(), Errno.EINVAL.Ret(), Errno.EINVAL.Ret(), Errno.EINVAL.Ret(), Errno.EINVAL.Ret(),
            Errno.ENOENT.Ret(), Errno.EINVAL.Ret(), Errno.EINVAL.Ret());
        k.Memory.Swap.Log.Should().ContainInOrder(
            "Unable to find swap-space signature",
            "Swap area shorter than signature indicates",
            "version 0 swap is no longer supported. Use mkswap -v1 /dev/sdd",
            "Unable to handle swap header version 2",
            "swapon: swapfile has holes");
        k.Memory.Swap.Areas.Should().BeEmpty();
        k.Proc.Read("/proc/swaps").Should().Be("Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n");
    }

    [Test]
    public void OnlyRootMaySwaponAndSwapoff()
    {
        var k = Boot(("sdb", 1024, SwapHeader.Make(1024)));
        Calls(k, async (self, res) =>
        {
            res.Add(await self.Swapon("/dev/sdb"));
            res.Add(await self.Swapoff("/dev/sdb"));
        }, uid: 1000).Should().Equal(Errno.EPERM.Ret(), Errno.EPERM.Ret());
    }
}

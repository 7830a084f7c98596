using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

[Parallelizable(ParallelScope.All)]
public class AddressSpaceTests
{
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;
    private const int Anon = MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS;
    private const long Page = MemoryLayout.PAGE_SIZE;

    /// <summary>Run one program to completion and return its wait status (and the kernel).</summary>
    private static (int Status, LinuxKernel K) RunProgram(UserProgram body, long memory = 64 * MemoryLayout.MiB)
    {
        var k = KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { MemoryBytes = memory } }).Boot();
        var t = k.Spawn("prog", body);
        k.RunUntilIdle().Should().BeTrue();
        k.AssertInvariants();
        return (t.ExitCode, k);
    }

    [Test]
    public void ReadingUntouchedMemoryMapsTheZeroPageAndWritingMapsAFreshPage()
    {
        long before = 0, afterRead = 0, afterWrite = 0;
        ulong ptePresentRo = 0, pteAfterWrite = 0;
        int readVal = -1, written = 0;
        var (status, k) = RunProgram(async self =>
        {
            long a = await self.Mmap(0, 4 * Page, RW, Anon);
            before = self.TaskStruct.MinFlt;
            readVal = await self.Load<int>(a + 8);
            afterRead = self.TaskStruct.MinFlt;
            ptePresentRo = self.Mm!.GetPte(a);
            self.Mm.Translate(a, write: false).Should().Be(self.Kernel.Memory.ZeroPagePfn);
            await self.Store(a + 8, 1234);
            afterWrite = self.TaskStruct.MinFlt;
            pteAfterWrite = self.Mm.GetPte(a);
            written = await self.Load<int>(a + 8);
            self.Mm.AnonRss.Should().Be(1);
        });
        status.Should().Be(0);
        readVal.Should().Be(0);
        (afterRead - before).Should().Be(1);
        (afterWrite - afterRead).Should().Be(1, "the write breaks COW from the zero page");
        (ptePresentRo & Paging._PAGE_RW).Should().Be(0UL);
        (pteAfterWrite & (Paging._PAGE_RW | Paging._PAGE_DIRTY | Paging._PAGE_ACCESSED)).Should().Be(Paging._PAGE_RW | Paging._PAGE_DIRTY | Paging._PAGE_ACCESSED);
        written.Should().Be(1234);
    }

    [Test]
    public void HardwareSetsAccessedOnLoadsAndDirtyOnStores()
    {
        RunProgram(async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            await self.Touch(a, Page, write: true);
            var mm = self.Mm!;
            (mm.GetPte(a) & Paging._PAGE_PRESENT).Should().NotBe(0UL);
            mm.TestAndClearYoung(a).Should().BeTrue("the fault left the PTE young");
            mm.FindPte(a) &= ~Paging._PAGE_DIRTY; // as if written back
            (mm.GetPte(a) & (Paging._PAGE_ACCESSED | Paging._PAGE_DIRTY)).Should().Be(0UL);
            long faults = self.Kernel.Memory.PgFault;
            await self.Load<long>(a);
            (mm.GetPte(a) & (Paging._PAGE_ACCESSED | Paging._PAGE_DIRTY)).Should().Be(Paging._PAGE_ACCESSED, "a load sets only ACCESSED");
            mm.TestAndClearYoung(a).Should().BeTrue();
            await self.Store(a, 1L);
            (mm.GetPte(a) & (Paging._PAGE_ACCESSED | Paging._PAGE_DIRTY)).Should().Be(Paging._PAGE_ACCESSED | Paging._PAGE_DIRTY);
            self.Kernel.Memory.PgFault.Should().Be(faults, "the MMU, not the fault handler, set the bits");
        });
    }

    [TestCase(0L, 0L, RW, Anon, -22L)]                            // length 0
    [TestCase(0x10001L, 4096L, RW, Anon | MapFlags.MAP_FIXED, -22L)] // unaligned MAP_FIXED
    [TestCase(0L, 4096L, RW, MapFlags.MAP_ANONYMOUS, -22L)]       // neither private nor shared
    [TestCase(0L, 4096L, RW, 0, -9L)]                             // fget (EBADF) before the MAP_TYPE check
    [TestCase(0xc0000001L, 4096L, RW, Anon | MapFlags.MAP_FIXED, -12L)] // range (ENOMEM) before alignment
    [TestCase(0L, 4096L, RW, MapFlags.MAP_PRIVATE, -9L)]          // file mapping without a file
    public void MmapRejectsBadArguments(long addr, long len, int prot, int flags, long expected)
    {
        long r = 0;
        RunProgram(async self => r = await self.Mmap(addr, len, prot, flags));
        r.Should().Be(expected);
    }

    [Test]
    public void I386FaultPermissionsAndProtBitsFollow2620()
    {
        long semMap = 0, readOfWriteOnly = -1;
        RunProgram(async self =>
        {
            semMap = await self.Mmap(0, Page, RW | Prot.PROT_SEM, Anon); // calc_vm_prot_bits ignores PROT_SEM
            long w = await self.Mmap(0, Page, Prot.PROT_WRITE, Anon);
            readOfWriteOnly = await self.Load<int>(w);                    // PROT_WRITE implies read on x86
        });
        semMap.Should().BeGreaterThan(0);
        readOfWriteOnly.Should().Be(0, "the read faulted in the zero page instead of SIGSEGV");
    }

    [Test]
    public void MprotectWorksAreaByAreaAndStopsAtTheFirstError()
    {
        long hole = 0, eacces = 0, grows = 0, badGrows = 0;
        bool firstChanged = false, secondChanged = true;
        var (status, _) = RunProgram(async self =>
        {
            var mm = self.Mm!;
            long a = await self.Mmap(0, 4 * Page, RW, Anon);
            await self.Munmap(a + 2 * Page, Page);                 // [a, a+2P) mapped, hole, [a+3P, a+4P)
            hole = await self.Mprotect(a, 4 * Page, Prot.PROT_READ);
            firstChanged = !mm.Vmas.FindVma(a)!.Has(VmFlags.VM_WRITE);
            secondChanged = !mm.Vmas.FindVma(a + 3 * Page)!.Has(VmFlags.VM_WRITE);
            int fd = (int)await self.Open("/ro", Kernel.Mm.Filemap.OpenFlags.O_CREAT | Kernel.Mm.Filemap.OpenFlags.O_RDONLY);
            await self.Close(fd);
            fd = (int)await self.Open("/ro", Kernel.Mm.Filemap.OpenFlags.O_RDONLY);
            long f = await self.Mmap(0, Page, Prot.PROT_READ, MapFlags.MAP_SHARED, fd);
            eacces = await self.Mprotect(f, Page, RW);            // no VM_MAYWRITE on a read-only shared file
            long stack = self.Mm!.Vmas.InOrder().First(v => v.Has(VmFlags.VM_GROWSDOWN)).VmStart;
            grows = await self.Mprotect(stack + Page, Page, RW | Prot.PROT_GROWSDOWN);
            badGrows = await self.Mprotect(a, Page, Prot.PROT_READ | Prot.PROT_GROWSDOWN);
        });
        status.Should().Be(0);
        hole.Should().Be(Errno.ENOMEM.Ret());
        firstChanged.Should().BeTrue("areas before the hole were changed, as 2.6.20 does");
        secondChanged.Should().BeFalse("the loop stopped at the hole");
        eacces.Should().Be(Errno.EACCES.Ret());
        grows.Should().Be(0, "PROT_GROWSDOWN extends the range to the stack's start");
        badGrows.Should().Be(Errno.EINVAL.Ret(), "PROT_GROWSDOWN on an area that does not grow down");
    }

    [Test]
    public void MmapOfAnOffsetPastThe32BitPgoffIsEoverflow()
    {
        long r = 0;
        RunProgram(async self =>
        {
            int fd = (int)await self.Open("/big", Kernel.Mm.Filemap.OpenFlags.O_CREAT | Kernel.Mm.Filemap.OpenFlags.O_RDWR);
            r = await self.Mmap(0, 2 * Page, RW, MapFlags.MAP_SHARED, fd, (long)uint.MaxValue * Page);
        });
        r.Should().Be(Errno.EOVERFLOW.Ret());
    }

    [Test]
    public void SharedTmpfsMappingsAreWritableAtOnceWithoutAWriteNotifyFault()
    {
        // tmpfs has no dirty accounting (BDI_CAP_NO_ACCT_DIRTY): vm_page_prot stays PAGE_SHARED.
        long faults = -1;
        RunProgram(async self =>
        {
            long a = await self.Mmap(0, 4 * Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS);
            await self.Touch(a, 4 * Page, write: false);
            await self.Mprotect(a, 4 * Page, Prot.PROT_READ);
            await self.Mprotect(a, 4 * Page, RW);
            long before = self.TaskStruct.MinFlt;
            await self.Touch(a, 4 * Page, write: true);
            faults = self.TaskStruct.MinFlt - before;
        });
        faults.Should().Be(0, "read faults mapped the pages writable and mprotect restored RW at once");
    }

    [Test]
    public void AdjacentMappingsOfOneFileWithContiguousOffsetsMerge()
    {
        int areas = 0;
        RunProgram(async self =>
        {
            int fd = (int)await self.Open("/m", Kernel.Mm.Filemap.OpenFlags.O_CREAT | Kernel.Mm.Filemap.OpenFlags.O_RDWR);
            await self.Ftruncate(fd, 4 * Page);
            long a = await self.Mmap(0x40000000, Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_FIXED, fd, 0);
            await self.Mmap(a + Page, Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_FIXED, fd, Page);
            await self.Mmap(a + 2 * Page, Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_FIXED, fd, 3 * Page); // pgoff jumps
            areas = self.Mm!.Vmas.InOrder().Count(v => v.VmStart >= a && v.VmEnd <= a + 3 * Page);
        });
        areas.Should().Be(2, "pages 0 and 1 merge; page 3 at the next address does not continue them");
    }

    [Test]
    public void SeparatelyTouchedNeighboursShareAnAnonVmaAndMergeAfterMprotect()
    {
        // find_mergeable_anon_vma: the second area's first fault reuses its neighbour's anon_vma.
        int areas = 0;
        bool shared = false;
        RunProgram(async self =>
        {
            long a = await self.Mmap(0x40000000, Page, RW, Anon | MapFlags.MAP_FIXED);
            await self.Mmap(a + Page, Page, RW | Prot.PROT_EXEC, Anon | MapFlags.MAP_FIXED); // differs only in VM_EXEC
            await self.Store(a, 1);
            await self.Store(a + Page, 2);
            var mm = self.Mm!;
            shared = mm.Vmas.FindVma(a)!.AnonVma is { } av && mm.Vmas.FindVma(a + Page)!.AnonVma == av;
            await self.Mprotect(a + Page, Page, RW);
            areas = mm.Vmas.InOrder().Count(v => v.VmStart >= a && v.VmEnd <= a + 2 * Page);
        });
        shared.Should().BeTrue();
        areas.Should().Be(1, "the two areas became one again");
    }

    [Test]
    public void AMovedAreaKeepsItsPgoffSoANewNeighbourDoesNotMerge()
    {
        int areas = 0;
        RunProgram(async self =>
        {
            long a = await self.Mmap(0x40000000, 2 * Page, RW, Anon | MapFlags.MAP_FIXED);
            await self.Store(a, 1);
            long moved = await self.Mremap(a, 2 * Page, 2 * Page, MremapFlags.MREMAP_MAYMOVE | MremapFlags.MREMAP_FIXED, 0x50000000);
            await self.Mmap(moved + 2 * Page, Page, RW, Anon | MapFlags.MAP_FIXED);
            areas = self.Mm!.Vmas.InOrder().Count(v => v.VmStart >= moved && v.VmEnd <= moved + 3 * Page);
        });
        areas.Should().Be(2, "can_vma_merge_after needs vm_pgoff to continue");
    }

    [Test]
    public void UnmappingAnUnmappedRangeSucceeds()
    {
        long r = -1;
        RunProgram(async self => r = await self.Munmap(0x20000000, 16 * Page));
        r.Should().Be(0);
    }

    [Test]
    public void AccessAfterMunmapIsKilledBySigsegv()
    {
        var (status, _) = RunProgram(async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            await self.Store(a, 1);
            (await self.Munmap(a, Page)).Should().Be(0);
            await self.Load<int>(a);
            throw new InvalidOperationException("unreachable: the load must not return");
        });
        (status & 0x7f).Should().Be(Signals.SIGSEGV);
        (status & 0x80).Should().NotBe(0, "SIGSEGV dumps core");
    }

    [Test]
    public void WriteAfterMprotectReadOnlyIsKilledBySigsegv()
    {
        var (status, _) = RunProgram(async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            await self.Store(a, 7);
            (await self.Mprotect(a, Page, Prot.PROT_READ)).Should().Be(0);
            (await self.Load<int>(a)).Should().Be(7, "reading is still allowed");
            await self.Store(a, 8);
        });
        (status & 0x7f).Should().Be(Signals.SIGSEGV);
    }

    [Test]
    public void ProtNoneHidesPagesAndRestoringKeepsTheirContents()
    {
        int value = 0, hiddenTranslate = 0, mapcountWhileHidden = 0;
        var (status, _) = RunProgram(async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            await self.Store(a, 99);
            int pfn = self.Mm!.Translate(a, false);
            await self.Mprotect(a, Page, Prot.PROT_NONE);
            hiddenTranslate = self.Mm.Translate(a, false);
            mapcountWhileHidden = self.Kernel.Memory.PageAt(pfn).PageMapcount;
            self.Mm.HandleFault(a, write: false).Should().Be(FaultResult.SegvAccerr);
            await self.Mprotect(a, Page, RW);
            value = await self.Load<int>(a);
        });
        status.Should().Be(0);
        hiddenTranslate.Should().Be(-1, "the MMU refuses every access to a PROT_NONE page");
        mapcountWhileHidden.Should().Be(1, "the page stays mapped behind _PAGE_PROTNONE");
        value.Should().Be(99);
    }

    [Test]
    public void SigsegvHandlerRunsOnceAndASecondFaultKills()
    {
        int handled = 0;
        var (status, _) = RunProgram(async self =>
        {
            self.Signal(Signals.SIGSEGV, _ => handled++);
            await self.Load<int>(0x100000); // nothing is mapped there
        });
        handled.Should().Be(1);
        (status & 0x7f).Should().Be(Signals.SIGSEGV);
    }

    [Test]
    public void MapFixedOverAMappingReplacesIt()
    {
        int after = -1;
        RunProgram(async self =>
        {
            long a = await self.Mmap(0, 4 * Page, RW, Anon);
            await self.Store(a + Page, 5);
            (await self.Mmap(a + Page, Page, RW, Anon | MapFlags.MAP_FIXED)).Should().Be(a + Page);
            after = await self.Load<int>(a + Page);
            self.Mm!.MapCount.Should().Be(4, "text, data, stack and the one merged area");
        });
        after.Should().Be(0, "the new mapping is fresh anonymous memory");
    }

    [Test]
    public void VmasMergeAndSplitAsLinuxCountsThem()
    {
        var counts = new List<int>();
        RunProgram(async self =>
        {
            var mm = self.Mm!;
            int baseCount = mm.MapCount;
            long a = await self.Mmap(0, 4 * Page, RW, Anon);
            counts.Add(mm.MapCount - baseCount);            // 1
            long b = await self.Mmap(a - 4 * Page, 4 * Page, RW, Anon);
            b.Should().Be(a - 4 * Page, "top-down placement puts the next area right below");
            counts.Add(mm.MapCount - baseCount);            // still 1: merged
            await self.Munmap(b + 2 * Page, Page);
            counts.Add(mm.MapCount - baseCount);            // 2: a hole splits it
            await self.Mprotect(b + 5 * Page, Page, Prot.PROT_READ);
            counts.Add(mm.MapCount - baseCount);            // 4: split into three around it
            await self.Mprotect(b + 5 * Page, Page, RW);
            counts.Add(mm.MapCount - baseCount);            // 2: merged back
            await self.Mmap(0, Page, Prot.PROT_READ, Anon); // different flags: a separate area
            counts.Add(mm.MapCount - baseCount);            // 3
        });
        counts.Should().Equal(1, 1, 2, 4, 2, 3);
    }

    [Test]
    public void BrkGrowsAndShrinksTheHeap()
    {
        long start = 0, grown = 0, shrunk = 0;
        int value = 0;
        var (status, k) = RunProgram(async self =>
        {
            start = await self.Brk(0);
            grown = await self.Brk(start + 64 * 1024);
            await self.Store(start + 60 * 1024, 42);
            value = await self.Load<int>(start + 60 * 1024);
            self.Kernel.Proc.Read($"/proc/{self.TaskStruct.Pid}/maps")!.Should().Contain("[heap]");
            shrunk = await self.Brk(start + 4096);
            await self.Load<int>(start + 60 * 1024);
        });
        start.Should().Be(0x0804a000);
        grown.Should().Be(start + 64 * 1024);
        value.Should().Be(42);
        shrunk.Should().Be(start + 4096);
        (status & 0x7f).Should().Be(Signals.SIGSEGV, "memory beyond the shrunk break is gone");
    }

    [Test]
    public void TheStackGrowsDownOnDemandWithinItsRlimit()
    {
        var (status, _) = RunProgram(async self =>
        {
            var mm = self.Mm!;
            var stack = mm.Vmas.InOrder().Last();
            long below = stack.VmStart - 64 * Page;
            await self.Store(below, 1);
            mm.Vmas.InOrder().Last().VmStart.Should().Be(below);
            await self.Store(mm.Paging.TaskSize - 9L * 1024 * 1024, 1); // beyond the 8 MiB limit
        });
        (status & 0x7f).Should().Be(Signals.SIGSEGV);
    }

    [Test]
    public void ForkedChildAndParentNeverSeeEachOthersPrivateWrites()
    {
        int childSaw = 0, parentAfter = 0, childAfter = 0;
        long sharedPfnMapcountDuring = 0;
        var (status, k) = RunProgram(async self =>
        {
            long a = await self.Mmap(0, 2 * Page, RW, Anon);
            await self.Store(a, 100);
            long child = await self.Fork(async c =>
            {
                childSaw = await c.Load<int>(a);
                sharedPfnMapcountDuring = c.Kernel.Memory.PageAt(c.Mm!.Translate(a, false)).PageMapcount;
                await c.Store(a, 200);
                await c.Nanosleep(Ms.Of(20));
                childAfter = await c.Load<int>(a);
            });
            await self.Nanosleep(Ms.Of(10));
            await self.Store(a, 300);
            parentAfter = await self.Load<int>(a);
            await self.Wait4((int)child);
        });
        status.Should().Be(0);
        childSaw.Should().Be(100, "the child starts with the parent's data");
        sharedPfnMapcountDuring.Should().Be(2, "before either writes, one frame is mapped by both");
        childAfter.Should().Be(200);
        parentAfter.Should().Be(300);
    }

    [Test]
    public void ChildrenExitingReturnEveryReferenceAndMapping()
    {
        var k = KernelBuilder.New().Boot();
        long freeBefore = 0, freeAfter = 0;
        k.Spawn("parent", async self =>
        {
            long a = await self.Mmap(0, 32 * Page, RW, Anon);
            await self.Touch(a, 32 * Page, write: true);
            freeBefore = FreeAfterShrinking(self.Kernel.Memory);
            for (int i = 0; i < 10; i++)
            {
                await self.Fork(async c =>
                {
                    await c.Touch(a, 16 * Page, write: true);
                    await c.Touch(a + 16 * Page, 16 * Page, write: false);
                });
            }
            for (int i = 0; i < 10; i++)
            {
                await self.Wait4(-1);
            }
            freeAfter = FreeAfterShrinking(self.Kernel.Memory);
            self.Kernel.CheckInvariants().Should().BeEmpty();
        });
        k.RunUntilIdle().Should().BeTrue();
        freeAfter.Should().Be(freeBefore, "COW copies, page tables, VMAs and task memory all came back");
        k.AssertInvariants();
    }

    /// <summary>Free pages once the slab caches and per-CPU lists have given back what they keep.</summary>
    private static long FreeAfterShrinking(MemorySubsystem mm)
    {
        foreach (var c in mm.Caches)
        {
            c.Shrink();
        }
        mm.LruAddDrainAll(); // pages waiting in the lru_add pagevecs hold a reference
        mm.DrainAllPages();
        return mm.Zones.Sum(z => z.FreePages);
    }

    [Test]
    public void MapPopulatePopulatesOnlySharedMappingsAsIn2620()
    {
        // mmap_region hands MAP_POPULATE to remap_file_pages, which acts only on VM_SHARED areas
        // with vm_ops->populate; MAP_LOCKED (make_pages_present) populates any mapping.
        long privateRss = -1, sharedRss = -1, lockedRss = -1;
        RunProgram(async self =>
        {
            var mm = self.Mm!;
            long before = mm.AnonRss + mm.FileRss;
            await self.Mmap(0, 8 * Page, RW, Anon | MapFlags.MAP_POPULATE);
            privateRss = mm.AnonRss + mm.FileRss - before;
            before = mm.AnonRss + mm.FileRss;
            await self.Mmap(0, 8 * Page, RW, MapFlags.MAP_SHARED | MapFlags.MAP_ANONYMOUS | MapFlags.MAP_POPULATE);
            sharedRss = mm.AnonRss + mm.FileRss - before;
            before = mm.AnonRss + mm.FileRss;
            await self.Mmap(0, 8 * Page, RW, Anon | MapFlags.MAP_LOCKED);
            lockedRss = mm.AnonRss + mm.FileRss - before;
        });
        privateRss.Should().Be(0, "2.6.20 does not populate private mappings");
        sharedRss.Should().Be(8);
        lockedRss.Should().Be(8);
    }

    [Test]
    public void ProcPidMapsStatmAndStatusShowTheAddressSpace()
    {
        var k = KernelBuilder.New().Boot();
        var t = k.Spawn("mapper", async self =>
        {
            long a = await self.Mmap(0, 8 * Page, RW, Anon);
            await self.Touch(a, 8 * Page, write: true);
            await self.Pause();
        });
        k.Run(Ms.Of(10));
        var maps = k.Proc.Read($"/proc/{t.Pid}/maps")!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        maps[0].Should().Be("08048000-08049000 r-xp 00000000 00:00 0 ");
        maps[1].Should().StartWith("08049000-0804a000 rw-p ");
        maps.Should().Contain(l => l.StartsWith("b7ff8000-b8000000 rw-p "), "mmap places areas top-down below mmap_base (0xb8000000)");
        maps[^1].Should().MatchRegex(@"^bffe0000-c0000000 rw-p [0-9a-f]{8} 00:00 0 +\[stack\]$");
        var statm = k.Proc.Read($"/proc/{t.Pid}/statm")!.Split(' ');
        long.Parse(statm[0]).Should().Be(1 + 1 + 32 + 8, "size: text, data, 128 KiB stack, the mapping");
        long.Parse(statm[1]).Should().Be(8, "resident: the touched pages");
        k.Proc.Read($"/proc/{t.Pid}/status")!.Should().Contain("VmRSS:\t      32 kB\n").And.Contain("VmStk:\t     128 kB\n");
        k.SendSignal(t, Signals.SIGKILL);
        k.RunUntilIdle();
        k.AssertInvariants();
    }

    [Test]
    public void AFaultThatCannotGetMemoryKillsTheTask()
    {
        var k = KernelBuilder.New().With(o => o with { Memory = new MemoryOptions { MemoryBytes = 16 * MemoryLayout.MiB } }).Boot();
        k.Proc.Write("/proc/sys/vm/overcommit_memory", "1").Should().Be(0, "always overcommit, so the mmap succeeds and the faults run out");
        var t = k.Spawn("hog", async self =>
        {
            long a = await self.Mmap(0, 64L << 20, RW, Anon);
            await self.Touch(a, 64L << 20, write: true);
        });
        k.RunUntilIdle().Should().BeTrue();
        t.ExitCode.Should().Be(Signals.SIGKILL);
        k.Machine.Oopses.Should().Contain(o => o.Message == $"Killed process {t.Pid} (hog)", "the OOM killer chose the hog");
        k.AssertInvariants();
    }

    [Test]
    public void CheckerNoticesAMapcountThatDisagreesWithThePageTables()
    {
        var k = KernelBuilder.New().Boot();
        int pfn = -1;
        var t = k.Spawn("t", async self =>
        {
            long a = await self.Mmap(0, Page, RW, Anon);
            await self.Store(a, 1);
            pfn = self.Mm!.Translate(a, false);
            await self.Pause();
        });
        k.Run(Ms.Of(5));
        k.CheckInvariants().Should().BeEmpty();
        k.Memory.PageAt(pfn).MapCount++;
        k.CheckInvariants().Should().Contain(s => s.Contains($"pfn {pfn}: mapcount 2 but 1 ptes map it"));
        k.Memory.PageAt(pfn).MapCount--;
        k.SendSignal(t, Signals.SIGKILL);
        k.RunUntilIdle();
        k.AssertInvariants();
    }
}

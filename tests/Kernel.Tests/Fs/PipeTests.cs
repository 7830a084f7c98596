using FluentAssertions;
using Kernel.Core;
using Kernel.Mm;
using Kernel.Mm.Filemap;
using Kernel.Mm.Memory;
using Kernel.Process;
using Kernel.Syscalls;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Fs;

/// <summary>pipe(): blocking and non-blocking reads and writes, EOF, EPIPE and SIGPIPE, PIPE_BUF atomicity, fork inheritance.</summary>
[Parallelizable(ParallelScope.All)]
public class PipeTests
{
    private const long Page = MemoryLayout.PAGE_SIZE;
    private const int RW = Prot.PROT_READ | Prot.PROT_WRITE;

    private static async ValueTask<(long Mem, int R, int W)> NewPipe(UserTask self, long bytes = 32 * Page)
    {
        long m = await self.Mmap(0, bytes, RW, MapFlags.MAP_PRIVATE | MapFlags.MAP_ANONYMOUS);
        (await self.Pipe(m)).Should().Be(0);
        return (m, await self.Load<int>(m), await self.Load<int>(m + 4));
    }

    [Test]
    public void AWriterThatFillsThePipeSleepsUntilTheReaderDrainsItAndEveryByteArrives()
    {
        const int Total = 100_000; // more than the 16-page ring
        long written = 0, got = 0, eof = -1, seek = 0, mapped = 0;
        bool intact = true;
        var k = KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            var (m, r, w) = await NewPipe(self);
            seek = await self.Lseek(r, 0, UserTask.SEEK_SET);
            mapped = await self.Mmap(0, Page, RW, MapFlags.MAP_SHARED, r, 0); // the stress run found this one

            long child = await self.Fork(async c =>
            {
                await c.Close(r);
                long src = m + 8;
                for (int i = 0; i < Total; i += 4)
                {
                    await c.Store(src + i, i);
                }
                written = await c.Write(w, src, Total);
                await c.Exit(0);
            });
            await self.Close(w);
            long dst = m + 8;
            await self.Nanosleep(Ms.Of(2)); // the writer fills the ring and sleeps
            while (got < Total)
            {
                long n = await self.Read(r, dst + got, Math.Min(5000, Total - got));
                n.Should().BePositive();
                got += n;
            }
            for (int i = 0; i < Total; i += 4)
            {
                intact &= await self.Load<int>(dst + i) == i;
            }
            await self.Wait4((int)child);
            eof = await self.Read(r, dst, 10);
            await self.Close(r);
        });
        seek.Should().Be(Errno.ESPIPE.Ret());
        mapped.Should().Be(Errno.ENODEV.Ret(), "a pipe has no f_op->mmap");
        written.Should().Be(Total, "a blocking write finishes whole");
        got.Should().Be(Total);
        intact.Should().BeTrue("nothing lost, nothing reordered");
        eof.Should().Be(0, "no writer left: end of file");
    }

    [Test]
    public void NonBlockingEndsGetEagainAndAWriteWithNoReaderGetsEpipeAndSigpipe()
    {
        long emptyRead = 0, fullWrite = 0, partial = 0, getfl = 0, epipe = 0;
        WaitResult killed = default;
        KernelBuilder.New().Cpus(1).Hz(1000).RunToExit(async self =>
        {
            var (m, r, w) = await NewPipe(self, 32 * Page);
            await self.Fcntl(r, UserTask.F_SETFL, OpenFlags.O_NONBLOCK);
            await self.Fcntl(w, UserTask.F_SETFL, OpenFlags.O_NONBLOCK);
            getfl = await self.Fcntl(w, UserTask.F_GETFL);
            emptyRead = await self.Read(r, m + 8, 100);
            partial = await self.Write(w, m + 8, 20 * Page); // 16 pages fit
            fullWrite = await self.Write(w, m + 8, 1);
            await self.Close(r);
            self.SignalIgnore(Signals.SIGPIPE);
            epipe = await self.Write(w, m + 8, 1);
            self.Signal(Signals.SIGPIPE, null); // back to the default action for the child
            long child = await self.Fork(async c => await c.Write(w, m + 8, 1));
            killed = await self.Wait4((int)child);
        });
        getfl.Should().Be(OpenFlags.O_WRONLY | OpenFlags.O_NONBLOCK);
        emptyRead.Should().Be(Errno.EAGAIN.Ret());
        partial.Should().Be(16 * Page, "PIPE_BUFFERS pages");
        fullWrite.Should().Be(Errno.EAGAIN.Ret());
        epipe.Should().Be(Errno.EPIPE.Ret());
        killed.WIFSIGNALED.Should().BeTrue();
        killed.WTERMSIG.Should().Be(Signals.SIGPIPE);
    }

    [Test]
    public void WritesOfAtMostPipeBufAreNeverInterleaved()
    {
        const int Blocks = 40;
        int torn = 0, blocks = 0;
        KernelBuilder.New().Cpus(2).Hz(1000).RunToExit(async self =>
        {
            var (m, r, w) = await NewPipe(self, 64 * Page);
            var children = new List<long>();
            for (int writer = 1; writer <= 3; writer++)
            {
                byte tag = (byte)writer;
                children.Add(await self.Fork(async c =>
                {
                    long src = m + Page * (2 + tag);
                    await c.StoreBytes(src, Enumerable.Repeat(tag, PipeBlock).ToArray());
                    for (int i = 0; i < Blocks; i++)
                    {
                        (await c.Write(w, src, PipeBlock)).Should().Be(PipeBlock);
                        await c.Compute(3_000 * tag);
                    }
                }));
            }
            await self.Close(w);
            long dst = m + 16 * Page;
            var data = new List<byte>();
            long n;
            while ((n = await self.Read(r, dst, 3 * Page)) > 0)
            {
                var chunk = new byte[n];
                await self.LoadBytes(dst, chunk);
                data.AddRange(chunk);
            }
            for (int i = 0; i < data.Count; i += PipeBlock)
            {
                blocks++;
                torn += data.Skip(i).Take(PipeBlock).Distinct().Count() == 1 ? 0 : 1;
            }
            foreach (var c in children)
            {
                await self.Wait4((int)c);
            }
        });
        blocks.Should().Be(3 * Blocks);
        torn.Should().Be(0, "a write of PIPE_BUF bytes lands in one buffer or waits whole");
    }

    private const int PipeBlock = 4096;

    [Test]
    public void ForkedChildrenInheritTheEndsAndProcShowsTheDescriptors()
    {
        IReadOnlyList<string>? parentFds = null, childFds = null, childAfterClose = null;
        int livePipes = -1, liveAfter = -1;
        string? got = null;
        var k = KernelBuilder.New().Cpus(2).Hz(1000).Boot();
        var prog = k.Spawn("prog", async self =>
        {
            var (m, r, w) = await NewPipe(self);
            parentFds = k.Proc.ReadDir($"/proc/{self.Getpid()}/fd");
            livePipes = k.Pipes.Count;
            long child = await self.Fork(async c =>
            {
                childFds = k.Proc.ReadDir($"/proc/{c.Getpid()}/fd");
                await c.Close(r);
                childAfterClose = k.Proc.ReadDir($"/proc/{c.Getpid()}/fd");
                await c.StoreBytes(m + 100, "ping"u8.ToArray());
                await c.Write(w, m + 100, 4);
            });
            await self.Close(w);
            var buf = new byte[4];
            (await self.Read(r, m + 200, 4)).Should().Be(4);
            await self.LoadBytes(m + 200, buf);
            got = System.Text.Encoding.ASCII.GetString(buf);
            (await self.Read(r, m + 200, 4)).Should().Be(0, "the child's exit closed the last write end");
            await self.Wait4((int)child);
            await self.Close(r);
            liveAfter = k.Pipes.Count;
        });
        k.RunUntilIdle().Should().BeTrue();
        prog.ExitCode.Should().Be(0);
        k.AssertInvariants();
        parentFds.Should().HaveCount(2);
        childFds.Should().Equal(parentFds, "fork copies the descriptor table");
        childAfterClose.Should().HaveCount(1);
        got.Should().Be("ping");
        livePipes.Should().Be(1);
        liveAfter.Should().Be(0, "both ends closed: the ring's pages went back");
    }
}

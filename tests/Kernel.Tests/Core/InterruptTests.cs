using FluentAssertions;
using Kernel.Core;
using Kernel.Core.Events;
using Kernel.Core.Locking;
using Kernel.Core.Smp;
using Kernel.Core.Tasks;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Core;

/// <summary>do_IRQ from a device model: irq_enter, handler, irq_exit with softirqs, and the return path.</summary>
[Parallelizable(ParallelScope.All)]
public class InterruptTests
{
    /// <summary>A network-card-like device: its interrupt wakes the waiter and raises NET_RX_SOFTIRQ (the block layer owns BLOCK_SOFTIRQ).</summary>
    private sealed class FakeDevice : IEventTarget
    {
        private readonly Machine _m;
        public readonly WaitQueueHead Done = new("fake_disk");
        public bool Complete;
        public int HardirqCount = -1;
        public int SoftirqCountInAction = -1;
        public long SoftirqRanAt = -1;

        public FakeDevice(Machine m)
        {
            _m = m;
            m.Softirqs.Open(SoftirqNr.NET_RX_SOFTIRQ, cpu =>
            {
                SoftirqCountInAction = PreemptCount.SoftirqCount(cpu.Curr.PreemptCount) != 0 ? 1 : 0;
                SoftirqRanAt = _m.Now;
            });
        }

        public void Submit(long atNs) => _m.At(atNs, EventPriority.Device, this, 0);

        public void OnEvent(long arg) => _m.DoIrq(_m.Cpus[0], cpu =>
        {
            HardirqCount = PreemptCount.HardirqCount(cpu.Curr.PreemptCount) != 0 ? 1 : 0;
            Complete = true;
            Done.WakeUp();
            _m.Softirqs.Raise(cpu, SoftirqNr.NET_RX_SOFTIRQ);
        });
    }

    private static (long WaiterRanAt, FakeDevice Dev, LinuxKernel K) Run(PreemptModel model)
    {
        var k = KernelBuilder.New().Hz(100).Preempt(model).Boot();
        var dev = new FakeDevice(k.Machine);
        long ranAt = -1;
        k.Spawn("kernel-hog", async self => await self.KernelCall(async m =>
        {
            await m.Work(Ms.Of(8)); // a long kernel path, no preemption points
            return 0;
        }), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0) });
        k.Spawn("waiter", async self => await self.KernelCall(async m =>
        {
            dev.Submit(m.Now + Ms.Of(2));
            await dev.Done.WaitEvent(m, () => dev.Complete, interruptible: false);
            ranAt = m.Now;
            return 0;
        }), new LinuxKernel.SpawnOptions { CpusAllowed = CpuMask.Of(0), Policy = SchedPolicy.SCHED_FIFO, RtPriority = 10 });
        k.RunUntilIdle().Should().BeTrue();
        k.AssertInvariants();
        return (ranAt, dev, k);
    }

    [Test]
    public void ADeviceInterruptRunsItsHandlerInHardirqAndItsSoftirqAtIrqExit()
    {
        var (_, dev, k) = Run(PreemptModel.None);
        dev.HardirqCount.Should().Be(1, "the handler runs inside irq_enter/irq_exit");
        dev.SoftirqCountInAction.Should().Be(1, "NET_RX_SOFTIRQ runs with the softirq count raised");
        dev.SoftirqRanAt.Should().BeInRange(Ms.Of(2), Ms.Of(2.1), "right at irq_exit of the completion interrupt");
        k.Machine.Softirqs.Runs[(int)SoftirqNr.NET_RX_SOFTIRQ].Should().Be(1);
        k.Run(Ms.Of(50));
        k.Machine.Softirqs.Runs[(int)SoftirqNr.TIMER_SOFTIRQ].Should().BeGreaterThanOrEqualTo(5, "each tick raises TIMER_SOFTIRQ through the same table");
    }

    [Test]
    public void TheInterruptReturnPreemptsAKernelPathOnlyUnderConfigPreempt()
    {
        Run(PreemptModel.Full).WaiterRanAt.Should().BeLessThan(Ms.Of(2.1), "preempt_schedule_irq on the way out of the interrupt");
        Run(PreemptModel.None).WaiterRanAt.Should().BeGreaterThan(Ms.Of(8), "the kernel path runs to its end first");
    }

    [Test]
    public void AnInterruptArrivingWithInterruptsOffIsTakenAtLocalIrqEnable()
    {
        var k = KernelBuilder.New().Boot();
        var dev = new FakeDevice(k.Machine);
        long handledAt = -1, enabledAt = -1;
        k.Spawn("irqoff", async self => await self.KernelCall(async m =>
        {
            m.LocalIrqDisable();
            dev.Submit(m.Now + Ms.Of(1));
            await m.Work(Ms.Of(3));
            dev.Complete.Should().BeFalse("the interrupt is held off");
            enabledAt = m.Now;
            await m.LocalIrqEnable();
            handledAt = dev.Complete ? m.Now : -1;
            return 0;
        }));
        k.RunUntilIdle().Should().BeTrue();
        handledAt.Should().Be(enabledAt);
        dev.SoftirqRanAt.Should().Be(enabledAt);
        k.AssertInvariants();
    }
    [Test]
    public void SpinUnlockIrqTakesTheDeviceInterruptsThatArrivedUnderTheLock()
    {
        // spin_lock_irq ... spin_unlock_irq: interrupts come back at the unlock, device ones too.
        var k = KernelBuilder.New().Boot();
        var dev = new FakeDevice(k.Machine);
        var l = new KSpinLock("irq_lock");
        long handledAt = -1, unlockedAt = -1;
        k.Spawn("locker", async self => await self.KernelCall(async m =>
        {
            await l.Lock(m, irqsOff: true);
            dev.Submit(m.Now + Ms.Of(1));
            await m.Work(Ms.Of(2));
            dev.Complete.Should().BeFalse("interrupts are off under the lock");
            unlockedAt = m.Now;
            await l.Unlock(m, irqsOn: true);
            handledAt = dev.Complete ? m.Now : -1;
            return 0;
        }));
        k.RunUntilIdle().Should().BeTrue();
        handledAt.Should().Be(unlockedAt);
        dev.SoftirqRanAt.Should().Be(unlockedAt, "its softirq ran at that irq_exit");
        k.AssertInvariants();
    }
}

// Something the machine can call back at a simulated time: a CPU's timer interrupt, the end of a
// compute segment, a device completion. The argument lets one target multiplex several events
// (and carry a generation number so a cancelled event is recognised and dropped).
namespace Kernel.Core.Events;

public interface IEventTarget
{
    void OnEvent(long arg);
}

// Linux 2.6.20 block/elevator.c elv_list, elv_register and elevator_get: the I/O schedulers a
// kernel knows, in registration order (2.6.20's built-ins register noop, anticipatory, deadline,
// cfq, which is the order /sys/block/DEV/queue/scheduler lists them in). Each queue that selects
// one gets its own instance. One registry per kernel, so parallel kernels share nothing.
namespace Kernel.Block;

public sealed class ElevatorRegistry
{
    private readonly List<(string Name, Func<Elevator> Create)> _types = new();

    /// <summary>The registry with this library's built-in elevators.</summary>
    public static ElevatorRegistry CreateDefault()
    {
        var r = new ElevatorRegistry();
        r.Register("noop", () => new NoopElevator());
        r.Register("anticipatory", () => new AnticipatoryElevator());
        r.Register("deadline", () => new DeadlineElevator());
        r.Register("cfq", () => new CfqElevator());
        return r;
    }

    /// <summary>The elevator a queue gets when none is named (CONFIG_DEFAULT_IOSCHED, or elevator= at boot): cfq, as 2.6.20's defconfig has it.</summary>
    public string Default { get; set; } = "cfq";

    /// <summary>Registered names, in registration order.</summary>
    public IReadOnlyList<string> Names => _types.Select(t => t.Name).ToList();

    /// <summary>elv_register: add an elevator type; a name may be registered once.</summary>
    public void Register(string name, Func<Elevator> create)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(create);
        if (Contains(name))
        {
            throw new InvalidOperationException($"elevator {name} is already registered");
        }
        _types.Add((name, create));
    }

    public bool Contains(string name) => _types.Any(t => t.Name == name);

    /// <summary>elevator_get plus elevator_init_queue: a fresh instance of `name`, or null when there is no such elevator.</summary>
    public Elevator? Create(string name)
    {
        foreach (var t in _types)
        {
            if (t.Name == name)
            {
                var e = t.Create();
                if (e.Name != name)
                {
                    throw new InvalidOperationException($"elevator registered as {name} calls itself {e.Name}");
                }
                return e;
            }
        }
        return null;
    }
}

// Cost records are per subsystem: Core's CostTable (entry, switch, tick, locks, IPIs, fork and
// exit bookkeeping), Kernel.Mm's MmCosts, and whatever a later subsystem (block, futex) declares
// in its own options. This helper validates any of them the same way, by reflection over their
// `long ...Ns` properties, so a new cost cannot be forgotten in a hand-written list.
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Kernel.Core;

public static class CostRecords
{
    /// <summary>Every public long property of `record` whose name ends in "Ns", with its value.</summary>
    public static IEnumerable<(string Name, long Value)> Entries<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(T record)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(record);
        foreach (var p in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.PropertyType == typeof(long) && p.Name.EndsWith("Ns", StringComparison.Ordinal))
            {
                yield return (p.Name, (long)p.GetValue(record)!);
            }
        }
    }

    /// <summary>
    /// A record of the same type with every cost set to 0 ("free"): derived, so a cost added to
    /// the record later can never be forgotten in its Free table.
    /// </summary>
    public static T AllFree<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>()
        where T : class, new()
    {
        var free = new T();
        foreach (var p in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.PropertyType == typeof(long) && p.Name.EndsWith("Ns", StringComparison.Ordinal) && p.SetMethod is not null)
            {
                p.SetValue(free, 0L); // an init accessor is an ordinary setter to reflection
            }
        }
        return free;
    }

    /// <summary>Throws ArgumentException naming the first negative cost.</summary>
    public static void Validate<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(T record)
        where T : class
    {
        foreach (var (name, v) in Entries(record))
        {
            if (v < 0)
            {
                throw new ArgumentException($"Cost {typeof(T).Name}.{name} must not be negative (was {v}).");
            }
        }
    }
}

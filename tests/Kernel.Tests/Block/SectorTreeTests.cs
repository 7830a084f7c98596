using FluentAssertions;
using Kernel.Block;
using Kernel.Core;
using Kernel.Tests.Support;
using NUnit.Framework;

namespace Kernel.Tests.Block;

/// <summary>The elevators' sort tree against a sorted reference, over seeded random operations.</summary>
[Parallelizable(ParallelScope.All)]
public class SectorTreeTests
{
    [TestCase(1UL)]
    [TestCase(2UL)]
    [TestCase(3UL)]
    public void RandomAddsFindsAndRemovesAgreeWithASortedSet(ulong seed)
    {
        var k = KernelBuilder.New().BootForHostCalls();
        var q = BlockKit.Queue(k, "noop");
        var tree = new SectorTree();
        var reference = new SortedDictionary<long, Request>();
        var rng = new Prng(seed);
        for (int op = 0; op < 3000; op++)
        {
            long sector = rng.Next(500);
            if (rng.Next(3) != 0)
            {
                var rq = new Request(q) { Sector = sector };
                var alias = tree.Add(rq);
                if (reference.TryGetValue(sector, out var had))
                {
                    alias.Should().BeSameAs(had, "a taken sector returns the request already there");
                    tree.Contains(rq).Should().BeFalse();
                }
                else
                {
                    alias.Should().BeNull();
                    reference.Add(sector, rq);
                }
            }
            else if (reference.TryGetValue(sector, out var rq))
            {
                tree.Remove(rq);
                reference.Remove(sector);
                tree.Contains(rq).Should().BeFalse();
            }
            tree.Find(sector).Should().BeSameAs(reference.GetValueOrDefault(sector));
            tree.Count.Should().Be(reference.Count);
        }
        tree.InOrder().Select(r => r.Sector).Should().Equal(reference.Keys);
        tree.First().Should().BeSameAs(reference.Values.FirstOrDefault());
        var back = new List<long>();
        for (var n = reference.Values.LastOrDefault(); n is not null; n = SectorTree.Prev(n))
        {
            back.Add(n.Sector);
        }
        back.Should().Equal(reference.Keys.Reverse());
        ((Action)(() => tree.Remove(new Request(q) { Sector = 7 }))).Should().Throw<KernelBug>();
    }
}

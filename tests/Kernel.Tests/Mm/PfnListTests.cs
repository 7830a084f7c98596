using FluentAssertions;
using Kernel.Mm;
using NUnit.Framework;

namespace Kernel.Tests.Mm;

/// <summary>list.h over mem_map: the helper the buddy lists and the per-CPU lists share (no kernel needed).</summary>
[Parallelizable(ParallelScope.All)]
public class PfnListTests
{
    private static Page[] Map(int n)
    {
        var map = new Page[n];
        for (int i = 0; i < n; i++)
        {
            map[i].LruNext = map[i].LruPrev = -1;
        }
        return map;
    }

    private static List<int> Forward(Page[] map, PfnList l)
    {
        var r = new List<int>();
        for (int p = l.Head; p >= 0; p = map[p].LruNext)
        {
            r.Add(p);
        }
        return r;
    }

    private static List<int> Backward(Page[] map, PfnList l)
    {
        var r = new List<int>();
        for (int p = l.Tail; p >= 0; p = map[p].LruPrev)
        {
            r.Add(p);
        }
        return r;
    }

    [Test]
    public void AddHeadAddTailAndDelKeepBothDirectionsConsistent()
    {
        var map = Map(8);
        var l = PfnList.Empty;
        l.IsEmpty.Should().BeTrue();
        l.AddHead(map, 3);
        l.AddHead(map, 5);
        l.AddTail(map, 1);
        l.AddTail(map, 7);
        Forward(map, l).Should().Equal(5, 3, 1, 7);
        Backward(map, l).Should().Equal(7, 1, 3, 5);
        l.Del(map, 3);   // middle
        l.Del(map, 5);   // head
        l.Del(map, 7);   // tail
        Forward(map, l).Should().Equal(1);
        (l.Head, l.Tail).Should().Be((1, 1));
        (map[3].LruNext, map[3].LruPrev).Should().Be((-1, -1), "list_del clears the links");
        l.Del(map, 1);
        l.IsEmpty.Should().BeTrue();
        l.Tail.Should().Be(-1);
    }
}

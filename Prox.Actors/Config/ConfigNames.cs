namespace Prox.Actors.Config;

/// <summary>The kebab-case names the config file uses for enum values.</summary>
public static class ConfigNames
{
    public static string Name(this LoadBalancingPolicy p) => p switch
    {
        LoadBalancingPolicy.RoundRobin => "round-robin",
        LoadBalancingPolicy.WeightedRoundRobin => "weighted-round-robin",
        LoadBalancingPolicy.Random => "random",
        LoadBalancingPolicy.WeightedRandom => "weighted-random",
        LoadBalancingPolicy.LeastConnections => "least-connections",
        LoadBalancingPolicy.LeastLatency => "least-latency",
        _ => throw new ArgumentOutOfRangeException(nameof(p), p, null),
    };
}

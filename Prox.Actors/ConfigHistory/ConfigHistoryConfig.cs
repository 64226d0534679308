namespace Prox.Actors.ConfigHistory;

/// <summary><c>prox.config-history</c>: how many applied config versions the ConfigStore keeps.</summary>
/// <param name="Keep">Newest versions kept; older ones are deleted from the store (numbers are never reused).</param>
public sealed record ConfigHistoryConfig(int Keep)
{
    public const int MaxKeep = 10_000;

    public static readonly ConfigHistoryConfig Default = new(100);
}

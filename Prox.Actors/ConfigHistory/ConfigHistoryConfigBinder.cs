using Prox.Actors.Hocon;

namespace Prox.Actors.ConfigHistory;

/// <summary>Binds <c>prox.config-history</c> to <see cref="ConfigHistoryConfig"/>.</summary>
internal static class ConfigHistoryConfigBinder
{
    private static readonly string[] ConfigHistoryKeys = ["keep"];

    /// <summary>The block's settings; <see cref="ConfigHistoryConfig.Default"/> when it is absent.</summary>
    public static ConfigHistoryConfig Bind(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.config-history";
        if (prox.Get("config-history") is not { } node || r.AsMap(node, path) is not { } history)
            return ConfigHistoryConfig.Default;
        r.CheckKeys(history, path, ConfigHistoryKeys);
        return new ConfigHistoryConfig(r.Int(history, path, "keep", ConfigHistoryConfig.Default.Keep, 1, ConfigHistoryConfig.MaxKeep));
    }
}

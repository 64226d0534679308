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
        if (r.Section(prox, "config-history", path, ConfigHistoryKeys) is not { } history)
            return ConfigHistoryConfig.Default;
        return new ConfigHistoryConfig(r.Int(history, path, "keep", ConfigHistoryConfig.Default.Keep, 1, ConfigHistoryConfig.MaxKeep));
    }
}

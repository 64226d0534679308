namespace Prox.Actors.Config;

internal sealed partial class ProxConfigBinder
{
    private static readonly string[] ConfigHistoryKeys = ["keep"];

    private ConfigHistoryConfig ConfigHistory(ConfigNode.Map prox)
    {
        const string path = "prox.config-history";
        if (prox.Get("config-history") is not { } node || AsMap(node, path) is not { } history)
            return ConfigHistoryConfig.Default;
        CheckKeys(history, path, ConfigHistoryKeys);
        return new ConfigHistoryConfig(Int(history, path, "keep", ConfigHistoryConfig.Default.Keep, 1, ConfigHistoryConfig.MaxKeep));
    }
}

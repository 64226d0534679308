using System.Net.Http.Json;
using System.Text.Json;
using Prox.Actors.Config;
using Prox.Hosting;
using Serilog.Events;

namespace Prox.Tests.Infrastructure;

/// <summary>A real Prox (Kestrel + actors + YARP) in this process, on 127.0.0.1 port 0 for proxy and admin. Unless the
/// test's config has a <c>persistence</c> block, each gets its own data dir (SQLite), deleted on dispose.</summary>
public sealed class ProxUnderTest : IAsyncDisposable
{
    private TempDataDir? _data;
    private bool _ownsConfigDir;

    private ProxUnderTest(ProxHost host)
    {
        Host = host;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = host.ProxyUrls[0],
            Timeout = TimeSpan.FromSeconds(30),
        };
        Admin = new HttpClient { BaseAddress = host.AdminUrls[0], Timeout = TimeSpan.FromSeconds(10) };
    }

    public ProxHost Host { get; }
    public HttpClient Client { get; }
    public HttpClient Admin { get; }
    public Uri ProxyUrl => Host.ProxyUrls[0];

    /// <summary>Starts Prox on <paramref name="hocon"/>, which should contain only the <c>routes { … }</c>
    /// (and any other prox keys); listen addresses are added here.</summary>
    /// <param name="time">The clock of the request path (the response cache); the system clock by default.</param>
    /// <param name="outside">Text after the prox block, e.g. an <c>akka { … }</c> block.</param>
    public static async Task<ProxUnderTest> StartAsync(string hocon, TimeProvider? time = null, string? outside = null)
    {
        var data = OwnDataDir(ref hocon);
        try
        {
            var parsed = ProxConfigParser.ParseText(ConfigText(hocon) + (outside is null ? "" : "\n" + outside));
            if (!parsed.IsValid)
                throw new InvalidOperationException("test config invalid:\n" + string.Join("\n", parsed.Errors));
            var host = ProxHost.Create(parsed.Config!, LogEventLevel.Warning, time: time);
            await host.StartAsync();
            return new ProxUnderTest(host) { _data = data };
        }
        catch
        {
            data?.Dispose();
            throw;
        }
    }

    /// <summary>A fresh data dir added to <paramref name="hocon"/> unless it configures persistence itself.</summary>
    private static TempDataDir? OwnDataDir(ref string hocon)
    {
        if (hocon.Contains("persistence", StringComparison.Ordinal)) return null;
        var data = new TempDataDir();
        hocon = hocon + "\n" + data.Hocon;
        return data;
    }

    /// <summary>The config file of a Prox started with <see cref="StartFromFileAsync"/>.</summary>
    public string? ConfigFile { get; private init; }

    /// <summary>The prox block around <paramref name="hocon"/>, with listeners on port 0.</summary>
    public static string ConfigText(string hocon) => $$"""
        prox {
          listen = "127.0.0.1:0"
          admin.listen = "127.0.0.1:0"
          {{hocon}}
        }
        """;

    /// <summary>Starts Prox from a config file in a temp dir (deleted on dispose), so it can be reloaded.</summary>
    /// <param name="watch">Reload when the file changes (else only through <see cref="ReloadAsync"/>).</param>
    public static async Task<ProxUnderTest> StartFromFileAsync(string hocon, bool watch = false, TimeProvider? time = null)
    {
        var data = OwnDataDir(ref hocon);
        var dir = Directory.CreateTempSubdirectory("prox-test-");
        var file = Path.Combine(dir.FullName, "prox.conf");
        await File.WriteAllTextAsync(file, ConfigText(hocon));
        try
        {
            var prox = await StartOnFileAsync(file, watch, time);
            prox._data = data;
            prox._ownsConfigDir = true;
            return prox;
        }
        catch
        {
            data?.Dispose();
            dir.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>Starts Prox from an existing config file (not deleted on dispose): for restarts on the same file and data dir.</summary>
    public static async Task<ProxUnderTest> StartOnFileAsync(string file, bool watch = false, TimeProvider? time = null)
    {
        var parsed = ProxConfigParser.ParseFile(file);
        if (!parsed.IsValid)
            throw new InvalidOperationException("test config invalid:\n" + string.Join("\n", parsed.Errors));
        var host = ProxHost.Create(parsed.Config!, LogEventLevel.Warning, file, watch, time: time);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return new ProxUnderTest(host) { ConfigFile = file };
    }

    /// <summary>The full config text of <paramref name="hocon"/> for this Prox (its own data dir included), e.g. for
    /// <c>PUT /admin/config</c>.</summary>
    public string ConfigTextFor(string hocon) => ConfigText(_data is null ? hocon : hocon + "\n" + _data.Hocon);

    /// <summary>The <c>persistence { … }</c> line of this Prox's own data dir ("" when the test configured its own), for
    /// tests that write the config file by hand.</summary>
    public string DataHocon => _data?.Hocon ?? "";

    /// <summary>Rewrites the config file (listeners stay on the ports bound at start; the own data dir stays).</summary>
    public Task WriteConfigAsync(string hocon) => File.WriteAllTextAsync(ConfigFile!, ConfigTextFor(hocon));

    /// <summary>Rewrites the config file and reloads it; returns what the reload did.</summary>
    public async Task<Prox.Http.Admin.ReloadResult> ReloadAsync(string hocon)
    {
        await WriteConfigAsync(hocon);
        return await Host.Reloader!.ReloadAsync("test");
    }

    public async Task<JsonElement> StatusAsync()
    {
        var doc = await Admin.GetFromJsonAsync<JsonElement>("/status");
        return doc;
    }

    public async Task<JsonElement> BackendStatusAsync(string route, string backendId)
    {
        var status = await StatusAsync();
        return status.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("name").GetString() == route)
            .GetProperty("backends").EnumerateArray().Single(b => b.GetProperty("id").GetString() == backendId);
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the deadline passes (then fails the test).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan? within = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(25);
        }
        throw new Xunit.Sdk.XunitException($"condition not met in time: {what}");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        await Host.DisposeAsync();
        if (_ownsConfigDir) Directory.Delete(Path.GetDirectoryName(ConfigFile)!, recursive: true);
        _data?.Dispose();
    }
}

using System.Net;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Prox.Actors;
using Prox.Actors.Cluster;
using Prox.Actors.Config;
using Prox.Actors.Health;
using Prox.Actors.Recovery;
using Prox.Actors.Routing;
using Prox.Actors.Tls;
using Prox.Actors.Webhooks;
using Prox.Http;
using Prox.Http.Admin;
using Prox.Http.Cache;
using Prox.Http.Errors;
using Prox.Http.Forwarding;
using Prox.Http.Hygiene;
using Prox.Http.Runtime;
using Prox.Http.Tls;
using Serilog;
using Serilog.Events;

namespace Prox.Hosting;

/// <summary>
/// The composition root: one ASP.NET Core host with Kestrel listening on the proxy and admin addresses,
/// Akka.Hosting running Prox's actor tree, YARP's forwarder, and Serilog.
/// </summary>
public sealed class ProxHost : IAsyncDisposable
{
    private const string AdminConnectionKey = "prox.admin";

    /// <summary>A Serilog level above Fatal: a category overridden to it logs nothing and reports no level enabled.</summary>
    private const LogEventLevel Off = (LogEventLevel)(1 + (int)LogEventLevel.Fatal);

    private readonly List<(ListenOptions Options, bool Tls)> _proxyListeners = new();
    private readonly List<ListenOptions> _adminListeners = new();
    private ShardedBackendActors? _sharded;

    private ProxHost(ProxConfig config, string? configPath, TimeProvider time)
    {
        Config = config;
        ConfigPath = configPath;
        Time = time;
    }

    /// <summary>The clock of the request path's time-based decisions (the response cache's TTLs).</summary>
    public TimeProvider Time { get; }

    /// <summary>Requests at a backend now (forwarded, not yet answered): what a graceful shutdown waits for. Summed
    /// from the backends' own in-flight counts when asked, so the request path keeps no counter of its own.</summary>
    public long InFlight => Store.InFlight;

    /// <summary>The config Prox started with (a reload changes <see cref="ProxRuntime.Config"/>, not this).</summary>
    public ProxConfig Config { get; }

    /// <summary>The file the config came from; null when it came from text (then there is nothing to reload).</summary>
    public string? ConfigPath { get; }

    /// <summary>Applies configs: reloads <see cref="ConfigPath"/> (file watcher, SIGHUP, <c>POST /admin/config/reload</c>)
    /// and texts from the admin API; set by <see cref="StartAsync"/>.</summary>
    public ConfigReloader? Reloader { get; private set; }
    public WebApplication App { get; private set; } = null!;
    public ProxSnapshotStore Store { get; } = new();

    /// <summary>The bound proxy addresses (ports resolved after <see cref="StartAsync"/>).</summary>
    public IReadOnlyList<Uri> ProxyUrls => _proxyListeners.Select(l => UrlOf(l.Options, l.Tls)).ToArray();
    public IReadOnlyList<Uri> AdminUrls => _adminListeners.Select(o => UrlOf(o, tls: false)).ToArray();

    /// <summary>What relative file names in a config (TLS certificates and keys) resolve against: the config file's
    /// folder; the working directory for a config given as text.</summary>
    public static string ConfigDirectory(string? configPath) =>
        configPath is null ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(Path.GetFullPath(configPath))!;

    /// <summary>This node's cluster address (<c>akka.tcp://prox@host:port</c>, the port bound when configured as 0);
    /// null in standalone mode.</summary>
    public string? ClusterAddress => App.Services.GetService<ClusterStatus>()?.SelfAddress;

    /// <param name="configPath">The file <paramref name="config"/> was read from: enables hot reload.</param>
    /// <param name="watch">With a file: reload when it changes (SIGHUP and the admin endpoint work either way).</param>
    /// <param name="handleSignals">True for the executable: SIGTERM/SIGINT/SIGQUIT stop the host gracefully and a
    /// second one exits at once. False (in-process tests): the default console lifetime.</param>
    /// <param name="time">The clock (tests pass a fake one to move cache TTLs); the system clock by default.</param>
    public static ProxHost Create(ProxConfig config, LogEventLevel minimumLevel = LogEventLevel.Information,
        string? configPath = null, bool watch = true, bool handleSignals = false, TimeProvider? time = null)
    {
        var host = new ProxHost(config, configPath, time ?? TimeProvider.System);
        host.Build(minimumLevel, watch, handleSignals);
        return host;
    }

    private void Build(LogEventLevel minimumLevel, bool watch, bool handleSignals)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "prox",
            ContentRootPath = AppContext.BaseDirectory,
        });

        var logger = new LoggerConfiguration()
            .MinimumLevel.Is(minimumLevel)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Yarp", LogEventLevel.Error) // per-attempt failures are reported by the backend actors, not logged per request
            // ASP.NET Core's per-request log scope and start/stop messages: a scope object and a LogContext push per
            // request while any level is on for this category; Prox logs nothing per request here (its own boundary
            // below logs unhandled errors)
            .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", Off)
            .Enrich.FromLogContext()
            .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        builder.Services.AddSerilog(logger, dispose: true);

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // h2c on a listener that also speaks HTTP/1.1 (PriorKnowledge) looks like TLS to Kestrel, so the stream's
            // scheme must come from the client's :scheme; Prox's own decisions read the TLS handshake feature instead
            k.AllowAlternateSchemes = true;
            k.RequestHeaderEncodingSelector = ConnectionHeaderCapture.Selector;
            k.Limits.MaxRequestBodySize = Config.Limits.MaxRequestBodyBytes;
            var h2 = Config.Limits.Http2;
            k.Limits.Http2.MaxStreamsPerConnection = h2.MaxStreamsPerConnection;
            k.Limits.Http2.HeaderTableSize = h2.HeaderTableSize;
            k.Limits.Http2.MaxFrameSize = h2.MaxFrameSize;
            k.Limits.Http2.MaxRequestHeaderFieldSize = h2.MaxRequestHeaderFieldSize;
            k.Limits.Http2.InitialConnectionWindowSize = h2.InitialConnectionWindowSize;
            k.Limits.Http2.InitialStreamWindowSize = h2.InitialStreamWindowSize;
            var certificates = k.ApplicationServices.GetRequiredService<CertificateStore>();
            foreach (var l in Config.Listen)
                Listen(k, l, o =>
                {
                    _proxyListeners.Add((o, l.Tls is not null));
                    o.Protocols = l.Protocols switch
                    {
                        HttpProtocolSet.Http1 => HttpProtocols.Http1,
                        HttpProtocolSet.Http2 => HttpProtocols.Http2,
                        _ => HttpProtocols.Http1AndHttp2,
                    };
                    if (l.Tls is { } tls) UseTls(o, tls, l.Protocols, certificates);
                    else if (l.Protocols == (HttpProtocolSet.Http1 | HttpProtocolSet.Http2))
                        o.Use(PriorKnowledge.Detect);
                });
            foreach (var l in Config.Admin.Listen)
                Listen(k, l, o =>
                {
                    _adminListeners.Add(o);
                    o.Use(next => conn =>
                    {
                        conn.Items[AdminConnectionKey] = true;
                        return next(conn);
                    });
                });
        });

        // Graceful shutdown: Kestrel stops accepting and lets in-flight requests finish until this timeout, then
        // aborts what is left; the actor system's hosted service stops after the web server (CoordinatedShutdown).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Config.Shutdown.DrainTimeout);
        if (handleSignals) builder.Services.AddSingleton<IHostLifetime, SignalLifetime>();

        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton(Store);
        builder.Services.AddSingleton<ForwardingClients>();
        builder.Services.AddSingleton<HttpHealthProber>();
        builder.Services.AddSingleton<RecoveryRunner>();
        builder.Services.AddSingleton<HttpWebhookSender>();
        builder.Services.AddSingleton(sp => new ProxRuntime(Config, Store,
            () => sp.GetRequiredService<ActorRegistry>().Get<ProxSupervisor>())
        {
            // a reload naming a certificate that cannot be used is rejected as a whole, like any invalid config
            FileCheck = next => CertificateFiles.Check(next, ConfigDirectory(ConfigPath), Time.GetUtcNow()),
        });
        builder.Services.AddSingleton(sp =>
        {
            // sized from the file at start, as the rest of the host; a reload resizes it
            var cache = new ResponseCache(Time, Config.Cache.MaxMemoryBytes);
            sp.GetRequiredService<ProxRuntime>().Applied += next => cache.SetMaxBytes(next.Cache.MaxMemoryBytes);
            return cache;
        });
        builder.Services.AddProxPipeline();
        builder.Services.AddSingleton(sp =>
        {
            var store = new CertificateStore(Config, ConfigDirectory(ConfigPath), Time, sp.GetRequiredService<ILogger<CertificateStore>>(),
                () => sp.GetService<ActorSystem>());
            sp.GetRequiredService<ProxRuntime>().Applied += store.Apply;
            return store;
        });
        builder.Services.AddSingleton(Time);
        builder.Services.AddSingleton<AdminAudit>();
        builder.Services.AddSingleton(sp => new ConfigReloader(ConfigPath, sp.GetRequiredService<ProxRuntime>(),
            () => sp.GetRequiredService<ActorSystem>(), watch));
        builder.Services.AddSingleton<IConfigReloader>(sp => sp.GetRequiredService<ConfigReloader>());
        if (Config.Cluster.Enabled)
            builder.Services.AddSingleton(sp => new ClusterStatus(() => sp.GetRequiredService<ActorSystem>(), () => _sharded?.Stats));
        if (Config.Cluster.Enabled) builder.Services.AddSingleton<IClusterStatus>(sp => sp.GetRequiredService<ClusterStatus>());

        builder.Services.AddAkka("prox", (ab, sp) =>
        {
            ab.AddHocon("""
                akka.log-dead-letters-during-shutdown = off
                akka.log-dead-letters = 0
                akka.coordinated-shutdown.exit-clr = off
                akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
                """, HoconAddMode.Prepend);
            // Akka's own SIGTERM/ProcessExit hook would stop the actor system while Kestrel still drains requests;
            // instead Akka.Hosting runs CoordinatedShutdown once the web server has stopped (its hosted service
            // stops after Kestrel's), so persistence and the webhook outbox flush after the last request.
            // cluster mode only (remoting, clustering, split-brain resolver): before the file's akka { … } block, which overrides it
            ProxCluster.Configure(ab, Config.Cluster);
            // the file's own akka { … } block wins; substitutions are already resolved (Akka's own ${?X} is unreliable)
            if (Config.ResolvedText is { } text && text.Contains("akka", StringComparison.Ordinal))
                ab.AddHocon(text, HoconAddMode.Prepend);
            ProxPersistence.Configure(ab, Config.Persistence);
            ab.ConfigureLoggers(l =>
            {
                l.ClearLoggers();
                l.AddLoggerFactory();
            });
            ab.WithActors((system, registry) =>
            {
                var prober = sp.GetRequiredService<HttpHealthProber>();
                var runner = sp.GetRequiredService<RecoveryRunner>();
                // cluster mode: each backend's actor is a sharded entity; this node's region must exist before any route
                _sharded = Config.Cluster.Enabled ? ShardedBackendActors.Start(system, Store, prober, runner) : null;
                registry.Register<ProxSupervisor>(system.ActorOf(
                    ProxSupervisor.Props(Config, Store, prober, runner, sp.GetRequiredService<HttpWebhookSender>(),
                        withConfigStore: true, deferRoutes: true, backends: _sharded), "prox"));
                ProxCluster.Start(system, Config.Cluster);
            });
        });

        var app = builder.Build();
        var proxy = app.Services.GetRequiredService<ProxyPipeline>();
        var admin = AdminPipeline(app.Services);
        var log = app.Services.GetRequiredService<ILogger<ProxHost>>();
        app.Lifetime.ApplicationStopping.Register(() => log.LogInformation(
            "Shutting down: draining {InFlight} in-flight requests (up to {DrainSeconds} s)",
            InFlight, Config.Shutdown.DrainTimeout.TotalSeconds));
        // per request: no counter, no wrapper (the pipeline is its own boundary); the admin plane gets the wrapper
        app.Run(ctx =>
        {
            var items = ctx.Features.Get<IConnectionItemsFeature>()?.Items;
            return items is not null && items.ContainsKey(AdminConnectionKey)
                ? Boundary.GuardAsync(new ValueTask(admin(ctx)), ctx, log)
                : proxy.InvokeAsync(ctx);
        });
        App = app;
    }

    /// <summary>The admin listeners' pipeline: endpoint routing over <see cref="AdminEndpoints"/>. It has a builder of
    /// its own rather than the app's: endpoints mapped on the app would put routing in front of every proxy request.</summary>
    private static RequestDelegate AdminPipeline(IServiceProvider services)
    {
        var admin = new ApplicationBuilder(services);
        admin.UseRouting();
        admin.UseEndpoints(e => AdminEndpoints.Map(e));
        return admin.Build();
    }

    /// <summary>TLS on a listener: the certificate is chosen per handshake by SNI from the <see cref="CertificateStore"/>
    /// (so a reloaded certificate serves the next handshake), the TLS versions from the current <c>prox.tls</c>, and ALPN
    /// offers what the listener speaks.</summary>
    private static void UseTls(ListenOptions o, ListenerTls tls, HttpProtocolSet protocols,
        CertificateStore certificates)
    {
        List<System.Net.Security.SslApplicationProtocol> alpn = [];
        if (protocols.HasFlag(HttpProtocolSet.Http2)) alpn.Add(System.Net.Security.SslApplicationProtocol.Http2);
        if (protocols.HasFlag(HttpProtocolSet.Http1)) alpn.Add(System.Net.Security.SslApplicationProtocol.Http11);
        o.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.TlsHandshakeCallbackOptions
        {
            OnConnection = ctx => ValueTask.FromResult(new System.Net.Security.SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificates.Select(tls, ctx.ClientHelloInfo.ServerName)
                    ?? throw new System.Security.Authentication.AuthenticationException("no certificate for this listener"),
                EnabledSslProtocols = certificates.Protocols,
                ApplicationProtocols = alpn,
                ClientCertificateRequired = false,
            }),
        });
    }

    private static void Listen(KestrelServerOptions k, ListenAddress a, Action<ListenOptions> configure)
    {
        if (a.Host == "*") k.ListenAnyIP(a.Port, configure);
        else if (a.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) k.ListenLocalhost(a.Port, configure);
        else k.Listen(IPAddress.Parse(a.Host), a.Port, configure);
    }

    private static Uri UrlOf(ListenOptions o, bool tls) => o.EndPoint switch
    {
        IPEndPoint ip => new Uri($"{(tls ? "https" : "http")}://{(ip.Address.Equals(IPAddress.IPv6Any) || ip.Address.Equals(IPAddress.Any) ? "127.0.0.1" : ip.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip.Address}]" : ip.Address.ToString())}:{ip.Port}"),
        _ => new Uri("http://" + o),
    };

    /// <summary>
    /// Checks the database, starts listeners and actors, chooses the config to serve (the file or the latest stored
    /// version: <see cref="ConfigReloader.StartServingAsync"/>), starts the routes on it and waits until they are ready.
    /// Until then no route exists, so no request sees a config that is about to be replaced.
    /// </summary>
    /// <exception cref="ProxStartupException">The data directory or database is unusable, a TLS certificate cannot be
    /// used, or the history did not load.</exception>
    public async Task StartAsync(CancellationToken ct = default)
    {
        if (ProxPersistence.PrepareDataDir(Config.Persistence) is { } dirError) throw new ProxStartupException(dirError);
        if (ProxPersistence.Check(Config.Persistence) is { } dbError) throw new ProxStartupException(dbError);
        var certificates = App.Services.GetRequiredService<CertificateStore>();
        if (certificates.Enabled && certificates.Load() is { Count: > 0 } tlsErrors)
            throw new ProxStartupException("TLS certificates unusable:" + string.Concat(tlsErrors.Select(e => $"\n  {e}")));
        await App.StartAsync(ct);
        App.Services.GetRequiredService<ProxRuntime>().HttpsPort = ProxyUrls.FirstOrDefault(u => u.Scheme == Uri.UriSchemeHttps)?.Port;
        var reloader = App.Services.GetRequiredService<ConfigReloader>();
        await reloader.StartServingAsync(ct);
        // the SIGHUP handler before readiness: a SIGHUP sent once /readyz says 200 must reload, not end the process
        // (the signal's default action)
        Reloader = reloader;
        reloader.Start();
        await Store.Ready.WaitAsync(TimeSpan.FromSeconds(30), ct);
        certificates.StartPolling();
    }

    public Task StopAsync(CancellationToken ct = default) => App.StopAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync();
        }
        catch (ObjectDisposedException)
        {
            // already stopped and disposed
        }
        await App.DisposeAsync();
    }
}

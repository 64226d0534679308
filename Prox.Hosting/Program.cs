using Prox.Hosting.Cli;

return await ProxCli.RunAsync(args);

/**
 * `/health/live` answers while the event loop does (a blocked loop cannot answer, which is the
 * point); `/health/ready` reports the broker and the database from their cached connection state and
 * turns 503 the moment shutdown begins, so Kubernetes stops sending work before we stop taking it.
 */
import { Controller, DynamicModule, Get, Inject, Injectable, Module, type InjectionToken } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';

export interface DependencyHealth {
  readonly name: string;
  isHealthy(): boolean;
}

export const HEALTH_DEPENDENCIES = Symbol('HEALTH_DEPENDENCIES');

@Injectable()
export class ShutdownState {
  private shuttingDown = false;

  begin(): void {
    this.shuttingDown = true;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly shutdown: ShutdownState,
    @Inject(HEALTH_DEPENDENCIES) private readonly dependencies: DependencyHealth[],
  ) {}

  /** The pid tells a caller which process answered (tests that start services check they reached theirs). */
  @Get('live')
  live() {
    return { status: 'ok', pid: process.pid };
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  ready() {
    return this.health.check([
      () => {
        const session = this.indicators.check('process');
        return this.shutdown.isShuttingDown() ? session.down({ message: 'shutting down' }) : session.up();
      },
      ...this.dependencies.map((dependency) => () => {
        const session = this.indicators.check(dependency.name);
        return dependency.isHealthy() ? session.up() : session.down({ message: `${dependency.name} unreachable` });
      }),
    ]);
  }
}

@Module({})
export class HealthModule {
  static register(dependencies: InjectionToken<DependencyHealth>[]): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [
        ShutdownState,
        {
          provide: HEALTH_DEPENDENCIES,
          inject: dependencies,
          useFactory: (...resolved: DependencyHealth[]) => resolved,
        },
      ],
      exports: [ShutdownState],
    };
  }
}

import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base';

export default defineConfig(
  packageBuild({ index: 'src/index.ts', proxy: 'src/proxy.ts', 'proxy-cli': 'src/proxy-cli.ts' }),
);

import { runAdapter } from '@app/channel-kit';
import { telegramAdapter } from './telegram.adapter';

void runAdapter(telegramAdapter);

import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class DemoTokenDto {
  @IsIn(['agent', 'supervisor', 'flow', 'admin']) role!: 'agent' | 'supervisor' | 'flow' | 'admin';
  @IsString() @Matches(NAME, { message: 'company must be 1-64 letters, digits, dots, dashes or underscores' }) company!: string;
  @IsString() @Matches(NAME, { message: 'sub must be 1-64 letters, digits, dots, dashes or underscores' }) sub!: string;
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(100) name?: string;
}

export class DemoFilesQueryDto {
  @IsString() @Matches(NAME, { message: 'company must be 1-64 letters, digits, dots, dashes or underscores' }) company!: string;
}

export class DemoFileQueryDto extends DemoFilesQueryDto {
  @IsString() @IsNotEmpty() @MaxLength(1024) name!: string;
}
